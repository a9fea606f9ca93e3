"""Loopback servers for tests that fetch pages (/add, feeds): real HTTP, no internet."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LIGHTHOUSE_HTML = """<!doctype html>
<html><head>
<title>Gull Island lighthouse shines again after forty years</title>
<meta property="og:site_name" content="Coastal Gazette">
<meta name="date" content="2024-05-02">
</head><body>
<nav><a href="/">Home</a> <a href="/sport">Sport</a></nav>
<article>
<h1>Gull Island lighthouse shines again after forty years</h1>
<p>The lighthouse on Gull Island was relit on Wednesday night, forty years after its lamp was
switched off and the keepers left the island for good.</p>
<p>Volunteers from the Gull Island Trust spent six years restoring the tower, replacing 214 of
its cast iron plates and rebuilding the lantern room by hand.</p>
<p>The restored lamp is visible for 18 nautical miles, the trust said, and will be used as a
landmark by fishing boats returning to the harbour at night.</p>
<p>The restoration cost 2.4 million pounds, most of it raised from local donations.</p>
</article>
<footer>Copyright Coastal Gazette</footer>
</body></html>
"""

EMPTY_HTML = """<!doctype html><html><head><title>Subscribe</title></head>
<body><nav><a href="/">Home</a></nav><p>Please subscribe.</p></body></html>
"""


@dataclass
class Page:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    location: str = ""


class WebPages:
    """Serves registered pages on a loopback address from a thread; records each path asked."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.pages: dict[str, Page] = {}
        self.requested: list[str] = []
        pages, requested = self.pages, self.requested

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requested.append(self.path)
                page = pages.get(self.path, Page(404, b"not found", "text/plain"))
                self.send_response(page.status)
                self.send_header("Content-Type", page.content_type)
                self.send_header("Content-Length", str(len(page.body)))
                if page.location:
                    self.send_header("Location", page.location)
                self.end_headers()
                self.wfile.write(page.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def add(self, path: str, html: str, status: int = 200) -> str:
        """Serve html at path; returns its URL."""
        self.pages[path] = Page(status, html.encode("utf-8"))
        return self.url(path)

    def redirect(self, path: str, to: str) -> str:
        self.pages[path] = Page(302, b"", "text/plain", location=to)
        return self.url(path)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class Listener:
    """A TCP port on a loopback address that never accepts: tells whether anything connected."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._sock = socket.socket()
        self._sock.bind((host, port))
        self._sock.listen()
        self._sock.setblocking(False)
        self.port: int = self._sock.getsockname()[1]

    def connected(self) -> bool:
        """Whether anything connected (the kernel completes a connection without accept)."""
        try:
            self._sock.accept()[0].close()
        except BlockingIOError:
            return False
        return True

    def close(self) -> None:
        self._sock.close()
