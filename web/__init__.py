"""The web page and its JSON API (aiohttp) for people without Telegram, over the bot's reply path.

    lookalike serve [--host 127.0.0.1] [--port 8080]     (or: python -m web)

web/app.py: routes, limits and answers; page.py: the HTML; texts.py: the page's words (the bot's catalogues);
upload.py: reading photos within the limits; limits.py: rate and admission limits; lookups.py: the seam to the
models; server.py: start-up; static/: the page's CSS and JS.
"""
