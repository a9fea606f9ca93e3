"""Who may do what, and how often: the bot's own user-facing refusals."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from index.errors import FootnoteError

if TYPE_CHECKING:
    from bot.discord.app import FootnoteBot


class OnCooldown(FootnoteError):
    """The user asked again too soon."""


class NotAllowedHere(FootnoteError):
    """The channel is not on the allow-list."""


class ReindexRunning(FootnoteError):
    """A /reindex is already in progress."""


class MissingReindexPermission(app_commands.CheckFailure):
    """The member may not /reindex."""


class Cooldowns:
    """Per-user cooldown between questions (in memory: a restart forgiving it is harmless)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._last: dict[int, float] = {}

    def hit(self, user_id: int) -> None:
        """Record a question by user_id.

        Raises:
            OnCooldown: the user asked less than `seconds` ago.
        """
        if self.seconds <= 0:
            return
        now = self._clock()
        last = self._last.get(user_id)
        if last is not None and now - last < self.seconds:
            wait = max(1, round(self.seconds - (now - last)))
            raise OnCooldown(
                f"You're asking quickly! Please wait {wait} second{'s' if wait != 1 else ''} "
                "before your next question."
            )
        if len(self._last) > 10_000:
            self._last = {u: t for u, t in self._last.items() if now - t < self.seconds}
        self._last[user_id] = now


def may_reindex(interaction: discord.Interaction[FootnoteBot]) -> bool:
    """Members with Manage Server (or the FOOTNOTE_ADMIN_ROLE role) may /reindex and /add."""
    perms = interaction.permissions
    if perms.manage_guild or perms.administrator:
        return True
    role = interaction.client.settings.admin_role.strip()
    member = interaction.user
    if (
        role
        and isinstance(member, discord.Member)
        and any(str(r.id) == role or r.name == role for r in member.roles)
    ):
        return True
    needed = "Manage Server permission" + (f" or the {role} role" if role else "")
    command = f"/{interaction.command.name}" if interaction.command else "This"
    raise MissingReindexPermission(f"{command} needs the {needed}.")
