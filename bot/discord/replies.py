"""Replies that must reach the member whatever state an interaction is in."""

from __future__ import annotations

import logging
from typing import Any

import discord

from bot.discord.render import clip
from index.errors import (
    CorpusError,
    DataDirError,
    FootnoteError,
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexMissingError,
    IndexUnavailableError,
    ModelError,
)

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on my side while doing that. Please try again later."

# Problems of the bot's host rather than of the member: their messages name paths on the host,
# which are for the operator (they go to the log); the member is told what can be done.
HOST_PROBLEMS: tuple[tuple[type[FootnoteError], str], ...] = (
    (IndexMissingError, "There is no index yet: someone allowed to /reindex can build it."),
    (IndexCorruptError, "The index is damaged: someone allowed to /reindex can rebuild it."),
    (
        IndexMismatchError,
        "The index was built with another model or settings than the bot now uses: someone "
        "allowed to /reindex can rebuild it.",
    ),
    (IndexLockedError, "An index build is already running; please try again when it is done."),
    (
        IndexUnavailableError,
        "The index is unavailable right now (its database cannot be reached); please try again "
        "in a moment.",
    ),
    (ModelError, "The bot cannot load its language model; its operator will find why in the log."),
    (
        CorpusError,
        "The bot cannot read its articles folder; its operator will find why in the log.",
    ),
    (DataDirError, "The bot cannot write its data folder; its operator will find why in the log."),
)


def member_text(error: FootnoteError) -> str:
    """What the member is told about a typed error (host problems: without the host's details)."""
    for kind, text in HOST_PROBLEMS:
        if isinstance(error, kind):
            log.warning("%s: %s", kind.__name__, one_line(error))
            return text
    return str(error)


def one_line(error: BaseException) -> str:
    """An exception as one short log-friendly line (Discord's 400s span several)."""
    return clip(" ".join(str(error).split()) or type(error).__name__, 300)


def mark_replied(interaction: discord.Interaction[Any]) -> None:
    """Record that the deferred reply now shows a real answer, not a placeholder."""
    interaction.extras["replied"] = True


def awaiting_reply(interaction: discord.Interaction[Any]) -> bool:
    """The interaction was deferred and its reply is still ours to fill (thinking or progress)."""
    deferred = interaction.response.type is discord.InteractionResponseType.deferred_channel_message
    return deferred and not interaction.extras.get("replied")


async def send_error(interaction: discord.Interaction[Any], text: str) -> None:
    """A short error reply that reaches the user whatever state the interaction is in. Never raises.

    Not yet acknowledged: an ephemeral reply. Deferred and not yet replied: the deferred reply is
    edited in place into the error (it keeps the defer's visibility); deleting it first would
    lose the follow-up (Discord answers 10008). If that edit fails, or a reply was already
    given, an ephemeral follow-up.
    """
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True)
            return
        if awaiting_reply(interaction):
            try:
                await interaction.edit_original_response(content=text, embed=None, view=None)
                mark_replied(interaction)
                return
            except Exception as exc:  # whatever went wrong, the follow-up may still work
                log.warning(
                    "could not edit the reply of interaction %s into an error (%s); "
                    "sending it as a follow-up",
                    interaction.id,
                    one_line(exc),
                )
        await interaction.followup.send(text, ephemeral=True)
    except discord.HTTPException as exc:
        log.error(
            "could not send an error reply to interaction %s: %s", interaction.id, one_line(exc)
        )
    except Exception:  # a reply that cannot be sent must not become an unretrieved task error
        log.exception("could not send an error reply to interaction %s", interaction.id)
