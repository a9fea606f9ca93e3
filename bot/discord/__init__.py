"""The Discord bot: app.py (the bot, commands, views), render.py (payloads), store.py
(answers kept across restarts), replies.py (errors that reach the member), checks.py
(permissions, cooldowns), building.py (/reindex and /add builds with progress)."""
