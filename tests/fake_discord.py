"""A loopback fake of the Discord API for end-to-end tests of the real discord.py client.

It serves the REST routes discord.py calls and a gateway websocket on 127.0.0.1, records every
request, validates message payloads against Discord's documented limits (answering 400 like
Discord would), and lets a test inject gateway events: messages and interactions (with attached
files, served like Discord's CDN). It refuses what Discord refuses, e.g. a follow-up once the
deferred "thinking…" reply it would replace was deleted (404, 10008 Unknown Message), and
`fail()` makes chosen requests fail (an HTTP error, or a dropped connection).

tests/test_discord_simcord.py runs the same scenarios against SimCord, a simulator written by
others, so that a leniency of this fake cannot hide a bug again.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

TOKEN = "fake-token.not-a-real-discord-token"

# Discord's limits, written out independently of the bot's own constants.
MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TITLE = 256
MAX_EMBED_DESCRIPTION = 4096
MAX_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
MAX_AUTHOR = 256
MAX_EMBED_TOTAL = 6000
MAX_ROWS = 5
MAX_ROW_ITEMS = 5
MAX_LABEL = 80
MAX_CUSTOM_ID = 100
MAX_THREAD_NAME = 100
EPHEMERAL = 64
LINK_STYLE = 5

ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
MEMBER_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 31) | (1 << 38)  # view, send, use commands

BODY: web.RequestKey[Any] = web.RequestKey("body", object)

DISCORD_EPOCH_MS = 1_420_070_400_000
# Snowflakes carry their creation time (ms since Discord's epoch, shifted 22 bits), as Discord's
# do: a message's or interaction's created_at is now, so "this week" is this week.
_ids = itertools.count()


def snowflake() -> str:
    ms = int(datetime.now(UTC).timestamp() * 1000) - DISCORD_EPOCH_MS
    return str((ms << 22) | (next(_ids) & 0x3FFFFF))


def now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class Request:
    """One REST call the bot made."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int = 200


@dataclass(frozen=True)
class Upload:
    """A file a member attaches to a slash command option."""

    filename: str
    data: bytes
    content_type: str = "text/plain; charset=utf-8"


@dataclass
class Fault:
    """A failure the fake injects into matching requests (see FakeDiscord.fail)."""

    method: str
    path: str
    status: int
    code: int
    message: str
    times: int | None


@dataclass
class Interaction:
    """An interaction the fake sent, and what the bot did with it."""

    id: str
    token: str
    channel_id: str
    user_id: str
    callback: dict[str, Any] | None = None
    original_id: str | None = None
    original_flags: int = 0
    loading: bool = False
    messages: list[dict[str, Any]] = field(default_factory=list)


def user(uid: str, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": uid,
        "username": name,
        "global_name": name.title(),
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
    }


# --- Validation of what the bot sends -----------------------------------------------------------


def validate_message(body: dict[str, Any], *, editing: bool = False) -> list[str]:
    """What Discord would reject in a message payload (empty list: acceptable)."""
    problems: list[str] = []
    content = body.get("content")
    if content is not None and len(content) > MAX_CONTENT:
        problems.append(f"content: {len(content)} > {MAX_CONTENT} characters")
    embeds = body.get("embeds") or []
    if len(embeds) > MAX_EMBEDS:
        problems.append(f"embeds: {len(embeds)} > {MAX_EMBEDS}")
    total = 0
    for i, embed in enumerate(embeds):
        problems += [f"embeds.{i}.{p}" for p in validate_embed(embed)]
        total += embed_total(embed)
    if total > MAX_EMBED_TOTAL:
        problems.append(f"embeds: {total} > {MAX_EMBED_TOTAL} characters in total")
    problems += validate_components(body.get("components") or [])
    flags = body.get("flags", 0) or 0
    if flags & ~(EPHEMERAL | 4 | 4096):
        problems.append(f"flags: {flags} has flags a bot may not set")
    if not editing and not (content or embeds or body.get("components") or body.get("poll")):
        problems.append("message: cannot send an empty message")
    return problems


def embed_total(embed: dict[str, Any]) -> int:
    return (
        len(embed.get("title") or "")
        + len(embed.get("description") or "")
        + len((embed.get("footer") or {}).get("text") or "")
        + len((embed.get("author") or {}).get("name") or "")
        + sum(len(f.get("name") or "") + len(f.get("value") or "") for f in embed.get("fields", []))
    )


def validate_embed(embed: dict[str, Any]) -> list[str]:
    problems = []
    for key, limit in (("title", MAX_EMBED_TITLE), ("description", MAX_EMBED_DESCRIPTION)):
        if len(embed.get(key) or "") > limit:
            problems.append(f"{key}: {len(embed[key])} > {limit}")
    if "url" in embed and not re.match(r"https?://\S+$", embed["url"] or ""):
        problems.append(f"url: {embed['url']!r} is not a well formed http(s) url")
    if len((embed.get("footer") or {}).get("text") or "") > MAX_FOOTER:
        problems.append("footer.text: too long")
    if len((embed.get("author") or {}).get("name") or "") > MAX_AUTHOR:
        problems.append("author.name: too long")
    fields = embed.get("fields", [])
    if len(fields) > MAX_FIELDS:
        problems.append(f"fields: {len(fields)} > {MAX_FIELDS}")
    for j, f in enumerate(fields):
        name, value = f.get("name") or "", f.get("value") or ""
        if not name.strip() or len(name) > MAX_FIELD_NAME:
            problems.append(f"fields.{j}.name: must be 1-{MAX_FIELD_NAME} characters")
        if not value.strip() or len(value) > MAX_FIELD_VALUE:
            problems.append(f"fields.{j}.value: must be 1-{MAX_FIELD_VALUE} characters")
    return problems


def validate_components(rows: list[dict[str, Any]]) -> list[str]:
    problems = []
    if len(rows) > MAX_ROWS:
        problems.append(f"components: {len(rows)} > {MAX_ROWS} rows")
    custom_ids: set[str] = set()
    for i, row in enumerate(rows):
        items = row.get("components", [])
        if row.get("type") != 1 or not 1 <= len(items) <= MAX_ROW_ITEMS:
            problems.append(f"components.{i}: an action row holds 1-{MAX_ROW_ITEMS} components")
        for j, item in enumerate(items):
            where = f"components.{i}.components.{j}"
            if item.get("type") != 2:
                continue
            label = item.get("label") or ""
            if len(label) > MAX_LABEL:
                problems.append(f"{where}.label: {len(label)} > {MAX_LABEL}")
            if item.get("style") == LINK_STYLE:
                if not re.match(r"(https?|discord)://\S+$", item.get("url") or ""):
                    problems.append(f"{where}.url: {item.get('url')!r} is not a valid url")
                if "custom_id" in item:
                    problems.append(f"{where}: a link button has no custom_id")
            else:
                cid = item.get("custom_id") or ""
                if not 1 <= len(cid) <= MAX_CUSTOM_ID:
                    problems.append(f"{where}.custom_id: must be 1-{MAX_CUSTOM_ID} characters")
                if cid in custom_ids:
                    problems.append(f"{where}.custom_id: duplicate {cid!r}")
                custom_ids.add(cid)
    return problems


def validate_commands(commands: list[dict[str, Any]]) -> list[str]:
    problems = []
    for i, cmd in enumerate(commands):
        if not re.fullmatch(r"[-_a-z0-9]{1,32}", cmd.get("name", "")):
            problems.append(f"{i}.name: invalid")
        if cmd.get("type", 1) == 1 and not 1 <= len(cmd.get("description", "")) <= 100:
            problems.append(f"{i}.description: must be 1-100 characters")
        for j, opt in enumerate(cmd.get("options", [])):
            if not 1 <= len(opt.get("description", "")) <= 100:
                problems.append(f"{i}.options.{j}.description: must be 1-100 characters")
    return problems


def _json(data: Any, status: int = 200) -> web.Response:
    # discord.py parses a body as JSON only for exactly this content type, like Discord sends it.
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


def _bad_request(problems: list[str]) -> web.Response:
    return _json(
        {"code": 50035, "message": "Invalid Form Body", "errors": {"_problems": problems}},
        status=400,
    )


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"code": code, "message": message}, status=status)


# --- The fake -------------------------------------------------------------------------------------


class FakeDiscord:
    """REST + gateway on 127.0.0.1; one guild with channels, roles and members."""

    def __init__(self) -> None:
        self.app_id = snowflake()
        self.bot_id = self.app_id
        self.guild_id = snowflake()
        self.channels = {name: snowflake() for name in ("general", "news", "offtopic")}
        self.admin_role_id = snowflake()
        self.helper_role_id = snowflake()
        self.users = {
            "alice": snowflake(),
            "bob": snowflake(),
            "carol": snowflake(),
            "otherbot": snowflake(),
        }
        self.member_roles = {"alice": [self.admin_role_id], "carol": [self.helper_role_id]}
        self.requests: list[Request] = []
        self.interactions: dict[str, Interaction] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.threads: dict[str, dict[str, Any]] = {}
        self.sent: list[str] = []  # ids of messages the bot created through the API
        self.identify: dict[str, Any] | None = None
        self.problems: list[str] = []
        self.faults: list[Fault] = []
        self.cdn: dict[str, bytes] = {}  # attachment path -> bytes, served like Discord's CDN
        self._sockets: list[_Gateway] = []
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.gateway_url = ""

    # -- lifecycle --

    async def start(self) -> None:
        app = web.Application(middlewares=[self._record])
        app.router.add_get("/gateway", self._gateway)
        api = "/api/v10"
        r = app.router
        r.add_get(f"{api}/users/@me", self._me)
        r.add_get(f"{api}/oauth2/applications/@me", self._application)
        r.add_get(f"{api}/gateway", self._gateway_info)
        r.add_get(f"{api}/gateway/bot", self._gateway_info)
        r.add_put(f"{api}/applications/{{app}}/commands", self._bulk_commands)
        r.add_put(f"{api}/applications/{{app}}/guilds/{{guild}}/commands", self._bulk_commands)
        r.add_post(f"{api}/interactions/{{iid}}/{{token}}/callback", self._callback)
        r.add_post(f"{api}/webhooks/{{app}}/{{token}}", self._followup)
        r.add_get(f"{api}/webhooks/{{app}}/{{token}}/messages/{{mid}}", self._get_webhook_message)
        r.add_patch(
            f"{api}/webhooks/{{app}}/{{token}}/messages/{{mid}}", self._edit_webhook_message
        )
        r.add_delete(
            f"{api}/webhooks/{{app}}/{{token}}/messages/{{mid}}", self._delete_webhook_message
        )
        r.add_post(f"{api}/channels/{{cid}}/messages", self._channel_message)
        r.add_patch(f"{api}/channels/{{cid}}/messages/{{mid}}", self._edit_channel_message)
        r.add_post(f"{api}/channels/{{cid}}/typing", self._typing)
        r.add_post(f"{api}/channels/{{cid}}/messages/{{mid}}/threads", self._thread)
        r.add_get("/attachments/{tail:.*}", self._attachment)
        r.add_route("*", "/{tail:.*}", self._unknown)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/api/v10"
        self.gateway_url = f"ws://127.0.0.1:{port}/gateway"

    async def stop(self) -> None:
        for sock in list(self._sockets):
            await sock.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what tests use --

    def calls(self, method: str | None = None, path: str = "") -> list[Request]:
        """Recorded requests, filtered by method and a path substring."""
        return [
            r for r in self.requests if (method is None or r.method == method) and path in r.path
        ]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until predicate() is truthy (re-checked after every request) and return it."""

        async def check() -> Any:
            async with self._changed:
                while not (result := predicate()):
                    await self._changed.wait()
                return result

        return await asyncio.wait_for(check(), timeout)

    def fail(
        self,
        method: str,
        path: str,
        *,
        status: int = 400,
        code: int = 0,
        message: str = "Injected failure",
        times: int | None = 1,
    ) -> None:
        """Make the next `times` requests whose path contains path fail (times=None: all).

        status 0 drops the connection without an answer, as a network failure would.
        """
        self.faults.append(Fault(method, path, status, code, message, times))

    def _fault(self, request: web.Request) -> Fault | None:
        for fault in self.faults:
            if fault.method in (request.method, "*") and fault.path in request.path:
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    async def settle(self, seconds: float = 0.2) -> None:
        """Let the bot finish whatever it is doing (used to assert that nothing else happens)."""
        await asyncio.sleep(seconds)

    def member(self, name: str, *, permissions: int = MEMBER_PERMISSIONS) -> dict[str, Any]:
        return {
            "user": user(self.users[name], name, bot=name.endswith("bot")),
            "roles": self.member_roles.get(name, []),
            "joined_at": now(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "nick": None,
            "avatar": None,
            "permissions": str(permissions),
        }

    def channel(self, name: str) -> dict[str, Any]:
        return {
            "id": self.channels[name],
            "type": 0,
            "name": name,
            "guild_id": self.guild_id,
            "position": list(self.channels).index(name),
            "permission_overwrites": [],
            "parent_id": None,
            "nsfw": False,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }

    async def slash(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        by: str = "bob",
        channel: str = "general",
        permissions: int = MEMBER_PERMISSIONS,
    ) -> Interaction:
        """Send an application command interaction, as a member's use of /name would."""
        types = {str: 3, int: 4, bool: 5}
        opts = []
        resolved: dict[str, Any] = {}
        for key, value in (options or {}).items():
            if isinstance(value, Upload):
                attachment = self._upload(channel, value)
                resolved.setdefault("attachments", {})[attachment["id"]] = attachment
                opts.append({"name": key, "type": 11, "value": attachment["id"]})
            else:
                opts.append({"name": key, "type": types[type(value)], "value": value})
        data: dict[str, Any] = {"id": snowflake(), "name": name, "type": 1, "options": opts}
        if resolved:
            data["resolved"] = resolved
        if self.commands.get(self.guild_id):
            data["guild_id"] = self.guild_id
        return await self._interact(2, data, by=by, channel=channel, permissions=permissions)

    def _upload(self, channel: str, upload: Upload) -> dict[str, Any]:
        aid = snowflake()
        path = f"/attachments/{self.channels[channel]}/{aid}/{upload.filename}"
        self.cdn[path] = upload.data
        url = self.base_url.removesuffix("/api/v10") + path
        return {
            "id": aid,
            "filename": upload.filename,
            "size": len(upload.data),
            "url": url,
            "proxy_url": url,
            "content_type": upload.content_type,
        }

    async def press(
        self, message: dict[str, Any], custom_id: str, *, by: str = "bob"
    ) -> Interaction:
        """Press the button custom_id on message."""
        channel = next(n for n, cid in self.channels.items() if cid == message["channel_id"])
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._interact(3, data, by=by, channel=channel, message=message)

    async def say(
        self,
        content: str,
        *,
        by: str = "bob",
        channel: str = "general",
        mention_bot: bool = True,
        thread: str | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Post a message as a member (MESSAGE_CREATE); mention_bot lists the bot in mentions.

        thread: post in this thread (its id) instead of channel; reply_to: the message this one
        replies to (a message_reference to it).
        """
        if by == "footnote":  # the bot itself
            author = user(self.bot_id, by, bot=True)
            member = self._bot_member()
        else:
            author = user(self.users[by], by, bot=by.endswith("bot"))
            member = self.member(by)
            member.pop("user")
        mentions = []
        if mention_bot:
            me = user(self.bot_id, "footnote", bot=True)
            mentions.append(me | {"member": self._bot_member()})
        message: dict[str, Any] = {
            "id": snowflake(),
            "channel_id": thread or self.channels[channel],
            "guild_id": self.guild_id,
            "author": author,
            "member": member,
            "content": content,
            "timestamp": now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": mentions,
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
            "components": [],
        }
        if reply_to is not None:
            message["type"] = 19  # a reply
            message["message_reference"] = {
                "message_id": reply_to["id"],
                "channel_id": reply_to["channel_id"],
                "guild_id": self.guild_id,
            }
        self.messages[message["id"]] = message
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    def bot_messages(self) -> list[dict[str, Any]]:
        """Messages the bot created (replies, follow-ups, thread posts), in order."""
        return [self.messages[i] for i in dict.fromkeys(self.sent) if i in self.messages]

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        if not self._sockets:
            raise RuntimeError("the bot is not connected to the fake gateway")
        # Discord sends a guild's events on the one shard that owns the guild.
        for sock in self._sockets:
            if sock.owns(self.guild_id):
                await sock.dispatch(event, data)

    # -- gateway --

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sock = _Gateway(self, ws, compress=request.query.get("compress") == "zlib-stream")
        self._sockets.append(sock)
        try:
            await sock.run()
        finally:
            self._sockets.remove(sock)
        return ws

    def ready_payload(self) -> dict[str, Any]:
        return {
            "v": 10,
            "user": user(self.bot_id, "footnote", bot=True) | {"verified": True, "flags": 0},
            "guilds": [{"id": self.guild_id, "unavailable": True}],
            "session_id": "fake-session",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": self.app_id, "flags": 0},
            "private_channels": [],
            "relationships": [],
        }

    def _bot_member(self) -> dict[str, Any]:
        return {"roles": [], "joined_at": now(), "deaf": False, "mute": False, "flags": 0}

    def guild_payload(self) -> dict[str, Any]:
        def role(rid: str, name: str, permissions: int, position: int) -> dict[str, Any]:
            return {
                "id": rid,
                "name": name,
                "permissions": str(permissions),
                "position": position,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
                "flags": 0,
            }

        members = [self.member(n) for n in self.users]
        bot = self._bot_member() | {"user": user(self.bot_id, "footnote", bot=True)}
        return {
            "id": self.guild_id,
            "name": "Newsroom",
            "icon": None,
            "owner_id": self.users["alice"],
            "roles": [
                role(self.guild_id, "@everyone", MEMBER_PERMISSIONS, 0),
                role(self.admin_role_id, "Editors", MANAGE_GUILD, 1),
                role(self.helper_role_id, "Librarians", 0, 2),
            ],
            "emojis": [],
            "stickers": [],
            "features": [],
            "member_count": len(members) + 1,
            "members": [*members, bot],
            "channels": [self.channel(n) for n in self.channels],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "large": False,
            "unavailable": False,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "premium_tier": 0,
            "system_channel_flags": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "afk_timeout": 300,
            "premium_progress_bar_enabled": False,
            "joined_at": now(),
        }

    async def _interact(
        self,
        kind: int,
        data: dict[str, Any],
        *,
        by: str,
        channel: str,
        permissions: int = MEMBER_PERMISSIONS,
        message: dict[str, Any] | None = None,
    ) -> Interaction:
        if by == "alice":
            permissions |= MANAGE_GUILD
        interaction = Interaction(
            id=snowflake(),
            token=f"itoken-{snowflake()}",
            channel_id=self.channels[channel],
            user_id=self.users[by],
        )
        self.interactions[interaction.token] = interaction
        payload: dict[str, Any] = {
            "id": interaction.id,
            "application_id": self.app_id,
            "type": kind,
            "data": data,
            "guild_id": self.guild_id,
            "channel_id": interaction.channel_id,
            "channel": self.channel(channel),
            "member": self.member(by, permissions=permissions),
            "token": interaction.token,
            "version": 1,
            "app_permissions": str(MEMBER_PERMISSIONS),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": self.guild_id},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = message
        await self.dispatch("INTERACTION_CREATE", payload)
        return interaction

    # -- REST --

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path == "/gateway":
            return await handler(request)
        body: Any = None
        if request.can_read_body:
            if request.content_type == "multipart/form-data":
                form = await request.post()
                body = json.loads(str(form.get("payload_json", "{}")))
            else:
                text = await request.text()
                body = json.loads(text) if text else None
        request[BODY] = body
        entry = Request(request.method, request.path, dict(request.query), body)
        self.requests.append(entry)
        if request.headers.get("Authorization") not in (f"Bot {TOKEN}", None):
            response: web.StreamResponse = _error(401, 0, "401: Unauthorized")
        elif request.headers.get("Authorization") is None and not request.path.startswith(
            ("/attachments/", "/api/v10/webhooks/", "/api/v10/interactions/")
        ):
            response = _error(401, 0, "401: Unauthorized")
        elif fault := self._fault(request):
            if not fault.status:
                assert request.transport is not None
                request.transport.close()
            response = _error(fault.status or 500, fault.code, fault.message)
            entry.status = fault.status
            async with self._changed:
                self._changed.notify_all()
            return response
        else:
            response = await handler(request)
        entry.status = response.status
        if response.status >= 400:
            self.problems.append(f"{request.method} {request.path} -> {response.status}: {body}")
        async with self._changed:
            self._changed.notify_all()
        return response

    async def _attachment(self, request: web.Request) -> web.Response:
        data = self.cdn.get(request.path)
        if data is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=data, content_type="application/octet-stream")

    async def _unknown(self, request: web.Request) -> web.Response:
        return _error(404, 0, f"404: Not Found (the fake has no {request.method} {request.path})")

    async def _me(self, request: web.Request) -> web.Response:
        return _json(
            user(self.bot_id, "footnote", bot=True)
            | {"verified": True, "flags": 0, "mfa_enabled": False}
        )

    async def _application(self, request: web.Request) -> web.Response:
        return _json(
            {
                "id": self.app_id,
                "name": "Footnote",
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": user(self.users["alice"], "alice"),
                "team": None,
                "verify_key": "00",
                "flags": 0,
                "summary": "",
                "interactions_endpoint_url": None,
            }
        )

    async def _gateway_info(self, request: web.Request) -> web.Response:
        return _json(
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    async def _bulk_commands(self, request: web.Request) -> web.Response:
        body = request[BODY]
        if problems := validate_commands(body):
            return _bad_request(problems)
        guild = request.match_info.get("guild", "")
        out = [
            cmd
            | {
                "id": snowflake(),
                "application_id": self.app_id,
                "version": snowflake(),
                "default_member_permissions": cmd.get("default_member_permissions"),
            }
            | ({"guild_id": guild} if guild else {})
            for cmd in body
        ]
        self.commands[guild] = out
        return _json(out)

    def _message(
        self, channel_id: str, body: dict[str, Any], *, flags: int = 0, mid: str | None = None
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "id": mid or snowflake(),
            "channel_id": channel_id,
            "guild_id": self.guild_id,
            "author": user(self.bot_id, "footnote", bot=True),
            "content": body.get("content") or "",
            "timestamp": now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": flags,
            "application_id": self.app_id,
        }
        if body.get("message_reference"):
            message["message_reference"] = body["message_reference"]
            message["type"] = 19
        self.messages[message["id"]] = message
        self.sent.append(message["id"])
        return message

    def _interaction(self, token: str) -> Interaction | None:
        return self.interactions.get(token)

    async def _callback(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request.match_info["token"])
        if interaction is None or interaction.id != request.match_info["iid"]:
            return _error(404, 10062, "Unknown interaction")
        if interaction.callback is not None:
            return _error(400, 40060, "Interaction has already been acknowledged.")
        body = request[BODY]
        kind = body.get("type")
        data = body.get("data") or {}
        if kind == 4 and (problems := validate_message(data)):
            return _bad_request(problems)
        if kind not in (4, 5, 6, 7):
            return _bad_request([f"type: the fake knows no interaction callback type {kind}"])
        interaction.callback = body
        result: dict[str, Any] = {"interaction": {"id": interaction.id, "type": 2}}
        if kind in (4, 5):
            flags = data.get("flags", 0) or 0
            message = self._message(interaction.channel_id, data, flags=flags)
            interaction.original_id = message["id"]
            interaction.original_flags = flags
            interaction.loading = kind == 5
            result["interaction"] |= {
                "response_message_id": message["id"],
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(flags & EPHEMERAL),
            }
            result["resource"] = {"type": kind, "message": message}
        return _json(result)

    async def _followup(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request.match_info["token"])
        if interaction is None or request.match_info["app"] != self.app_id:
            return _error(404, 10015, "Unknown Webhook")
        if interaction.callback is None:
            return _error(404, 10015, "Unknown Webhook")
        body = request[BODY]
        if problems := validate_message(body):
            return _bad_request(problems)
        if interaction.loading:
            # The first follow-up after a "thinking…" defer replaces the placeholder, and keeps
            # the defer's visibility whatever flags it asks for. Once the placeholder is
            # deleted there is nothing to replace: Discord answers 10008 (the follow-up is lost).
            if interaction.original_id not in self.messages:
                return _error(404, 10008, "Unknown Message")
            interaction.loading = False
            message = self._message(
                interaction.channel_id,
                body,
                flags=interaction.original_flags,
                mid=interaction.original_id,
            )
        else:
            message = self._message(interaction.channel_id, body, flags=body.get("flags", 0) or 0)
        interaction.messages.append(message)
        return _json(message)

    def _webhook_target(self, request: web.Request) -> tuple[Interaction | None, str | None]:
        interaction = self._interaction(request.match_info["token"])
        if interaction is None:
            return None, None
        mid = request.match_info["mid"]
        if mid == "@original":
            mid = interaction.original_id or ""
        return interaction, mid if mid in self.messages else None

    async def _get_webhook_message(self, request: web.Request) -> web.Response:
        interaction, mid = self._webhook_target(request)
        if interaction is None or mid is None:
            return _error(404, 10008, "Unknown Message")
        return _json(self.messages[mid])

    async def _edit_webhook_message(self, request: web.Request) -> web.Response:
        interaction, mid = self._webhook_target(request)
        if interaction is None or mid is None:
            return _error(404, 10008, "Unknown Message")
        body = request[BODY]
        if problems := validate_message(body, editing=True):
            return _bad_request(problems)
        message = self.messages[mid]
        for key in ("content", "embeds", "components"):
            if key in body:
                empty: Any = "" if key == "content" else []
                message[key] = empty if body[key] is None else body[key]
        message["edited_timestamp"] = now()
        if mid == interaction.original_id:
            interaction.loading = False
        if not (message["content"] or message["embeds"] or message["components"]):
            return _bad_request(["message: cannot be edited to be empty"])
        return _json(message)

    async def _delete_webhook_message(self, request: web.Request) -> web.Response:
        interaction, mid = self._webhook_target(request)
        if interaction is None or mid is None:
            return _error(404, 10008, "Unknown Message")
        # Deleting a "thinking…" original does not complete it: see _followup.
        del self.messages[mid]
        return web.Response(status=204)

    async def _edit_channel_message(self, request: web.Request) -> web.Response:
        """Edit a message the bot sent (only its own, as on Discord)."""
        cid, mid = request.match_info["cid"], request.match_info["mid"]
        message = self.messages.get(mid)
        if message is None or message["channel_id"] != cid:
            return _error(404, 10008, "Unknown Message")
        if message["author"]["id"] != self.bot_id:
            return _error(403, 50005, "Cannot edit a message authored by another user")
        body = request[BODY]
        if problems := validate_message(body, editing=True):
            return _bad_request(problems)
        for key in ("content", "embeds", "components"):
            if key in body:
                empty: Any = "" if key == "content" else []
                message[key] = empty if body[key] is None else body[key]
        message["edited_timestamp"] = now()
        if not (message["content"] or message["embeds"] or message["components"]):
            return _bad_request(["message: cannot be edited to be empty"])
        return _json(message)

    async def _channel_message(self, request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        if cid not in self.channels.values() and cid not in self.threads:
            return _error(404, 10003, "Unknown Channel")
        body = request[BODY]
        if problems := validate_message(body):
            return _bad_request(problems)
        if body.get("flags", 0) & EPHEMERAL:
            return _bad_request(["flags: channel messages cannot be ephemeral"])
        return _json(self._message(cid, body))

    async def _typing(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def _thread(self, request: web.Request) -> web.Response:
        body = request[BODY]
        mid = request.match_info["mid"]
        cid = request.match_info["cid"]
        if mid not in self.messages or self.messages[mid]["channel_id"] != cid:
            return _error(404, 10008, "Unknown Message")
        name = body.get("name") or ""
        if not 1 <= len(name) <= MAX_THREAD_NAME:
            return _bad_request([f"name: must be 1-{MAX_THREAD_NAME} characters"])
        thread_id = mid  # Discord gives a thread started from a message the message's id
        self.threads[thread_id] = thread = {
            "id": thread_id,
            "type": 11,
            "guild_id": self.guild_id,
            "parent_id": cid,
            "owner_id": self.bot_id,
            "name": name,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": body.get("auto_archive_duration", 1440),
                "archive_timestamp": now(),
                "locked": False,
            },
        }
        return _json(thread)


class _Gateway:
    """One websocket connection: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats, dispatch."""

    def __init__(self, fake: FakeDiscord, ws: web.WebSocketResponse, *, compress: bool) -> None:
        self.fake = fake
        self.ws = ws
        self.seq = 0
        self.shard: tuple[int, int] = (0, 1)  # (shard id, shard count) from IDENTIFY
        self._zlib = zlib.compressobj() if compress else None
        self._send_lock = asyncio.Lock()

    async def send(self, payload: dict[str, Any]) -> None:
        data = json.dumps(payload)
        async with self._send_lock:
            if self._zlib is None:
                await self.ws.send_str(data)
            else:
                chunk = self._zlib.compress(data.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                await self.ws.send_bytes(chunk)

    def owns(self, guild_id: str) -> bool:
        """This connection's shard is the guild's: (guild_id >> 22) % shard count."""
        shard_id, count = self.shard
        return (int(guild_id) >> 22) % count == shard_id

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        self.seq += 1
        await self.send({"op": 0, "t": event, "s": self.seq, "d": data})

    async def close(self) -> None:
        await self.ws.close()

    async def run(self) -> None:
        await self.send({"op": 10, "d": {"heartbeat_interval": 41250}})
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            payload = json.loads(msg.data)
            op = payload.get("op")
            if op == 1:
                await self.send({"op": 11})
            elif op == 2:
                self.fake.identify = payload["d"]
                if payload["d"].get("token") != TOKEN:
                    await self.ws.close(code=4004, message=b"Authentication failed.")
                    return
                shard = payload["d"].get("shard")
                ready = self.fake.ready_payload()
                if shard:
                    self.shard = (int(shard[0]), int(shard[1]))
                    ready["shard"] = list(self.shard)
                if not self.owns(self.fake.guild_id):
                    ready["guilds"] = []
                    await self.dispatch("READY", ready)
                    continue
                await self.dispatch("READY", ready)
                await self.dispatch("GUILD_CREATE", self.fake.guild_payload())
            elif op == 6:
                await self.send({"op": 9, "d": False})
