"""lookalike's Telegram bot (aiogram 3): send a photo, get the CelebA celebrities each face looks like.

    python run_bot.py            # settings from the environment and .env (see .env.example)
"""
