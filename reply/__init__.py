"""The reply path: photo bytes -> faces, look-alikes, quality notes, cards (Replier), shared by the bot and the CLI."""
