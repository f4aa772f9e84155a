"""The web page and its JSON API (aiohttp) for people without Telegram, over the bot's reply path and worker setup.

    lookalike serve [--host 127.0.0.1] [--port 8080]     (or: python -m web)

web/app.py: routes, limits and answers; page.py: the HTML; texts.py: the page's words (the bot's catalogues);
upload.py: reading photos within the limits; limits.py: the per-client rate limit; config.py: settings;
server.py: start-up (serving/'s worker pool and admission limit, the bot's); static/: the page's CSS and JS.
"""
