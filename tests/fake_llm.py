"""A loopback fake of an OpenAI-compatible chat completions endpoint, scripted per request.

Each request to POST /v1/chat/completions takes the next step of the script:
- Reply(text, piece, delay): the text, streamed in pieces of `piece` characters `delay`
  seconds apart as server-sent events (or whole, as JSON, when the request does not stream);
- Status(code): an error response with OpenAI's error body (429: rate-limited);
- Malformed(): an event stream whose data is not JSON;
- Stall(seconds, text=""): send text (if any), then wait before finishing, to time out clients.
An empty script answers 500. Requests are recorded (body and headers) for assertions.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    text: str
    piece: int = 7  # characters per streamed event
    delay: float = 0.0  # seconds between events


@dataclass(frozen=True)
class Status:
    code: int


@dataclass(frozen=True)
class Malformed:
    pass


@dataclass(frozen=True)
class Stall:
    seconds: float
    text: str = ""


Step = Reply | Status | Malformed | Stall


@dataclass
class FakeLLM:
    script: list[Step] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeLLM:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(
                    {
                        "path": self.path,
                        "body": body,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                    }
                )
                step = fake.script.pop(0) if fake.script else Status(500)
                fake._respond(self, step, bool(body.get("stream")), body.get("model", ""))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _respond(self, h: BaseHTTPRequestHandler, step: Step, stream: bool, model: str) -> None:
        if isinstance(step, Status):
            body = json.dumps({"error": {"message": "scripted", "type": "error", "code": None}})
            h.send_response(step.code)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body.encode())
            return
        if isinstance(step, Reply) and not stream:
            body = json.dumps(_completion(step.text, model))
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body.encode())
            return
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()
        try:
            if isinstance(step, Malformed):
                h.wfile.write(b'data: {"choices": [{"delta": {"content": "Hel\n\n')
                h.wfile.write(b"data: [DONE]\n\n")
                return
            text = step.text
            pieces = [text[i : i + 7] for i in range(0, len(text), 7)]
            if isinstance(step, Reply):
                pieces = [text[i : i + step.piece] for i in range(0, len(text), step.piece)]
            for piece in pieces:
                h.wfile.write(_event(_chunk(piece, model, None)))
                h.wfile.flush()
                if isinstance(step, Reply) and step.delay:
                    self._stop.wait(step.delay)
            if isinstance(step, Stall):
                self._stop.wait(step.seconds)
            h.wfile.write(_event(_chunk("", model, "stop")))
            h.wfile.write(b"data: [DONE]\n\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout): that is the point of a Stall


def _event(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()


def _chunk(piece: str, model: str, finish: str | None) -> dict[str, Any]:
    delta = {"content": piece} if piece else {}
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _completion(text: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
