"""Where `footnote serve` finds the Discord bot, which lives in the bot.discord package."""

from __future__ import annotations

from bot.discord.app import run_bot

__all__ = ["run_bot"]
