"""Milvus servers in a child process, reached over the network: Milvus Lite's gRPC server, and
a real Milvus standalone (the `milvus` package, "embedded Milvus" 2.3.5) with authentication on.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest


def milvus_env(
    monkeypatch: pytest.MonkeyPatch,
    data_dir: Path,
    corpus_dir: Path,
    uri: str,
    token: str,
    timeout: float | None = None,
) -> None:
    """Point the CLI (through the environment, as a user would) at the Milvus server at uri."""
    env = {
        "FOOTNOTE_DATA_DIR": str(data_dir),
        "FOOTNOTE_CORPUS_DIR": str(corpus_dir),
        "FOOTNOTE_BACKEND": "milvus",
        "FOOTNOTE_MILVUS_URI": uri,
        "FOOTNOTE_MILVUS_TOKEN": token,
    }
    if timeout is not None:
        env["FOOTNOTE_MILVUS_TIMEOUT"] = str(timeout)
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MilvusServer:
    """`milvus-lite server` on a loopback port; start() and stop() may be called again."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> MilvusServer:
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "milvus_lite",
                "server",
                "--data-dir",
                str(self.data_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"milvus-lite server exited with {self._proc.returncode}")
            if self._answers():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("milvus-lite server did not start")

    def _answers(self) -> bool:
        """The server answers a Milvus call (not only accepts connections)."""
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                pass
            client = MilvusClient(uri=self.uri, timeout=2)
        except (OSError, MilvusException):
            return False
        return _lists_collections(client)

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
        self._proc = None


class PortInUse(RuntimeError):
    """A port the standalone server cannot be told to move off is taken."""


class MilvusStandalone:
    """A real Milvus standalone server from the `milvus` package, token authentication on.

    Every port its configuration names is a free one; its embedded etcd listens on 2379 and 2380
    whatever it is told, so start() raises PortInUse when either is taken (or when the server
    says an address was in use). start() may be called again after stop(). The base directory
    takes about 450 MB (the server's binaries are unpacked there).
    """

    ROOT_TOKEN = "root:Milvus"  # Milvus's default root user, on a fresh server
    ETCD_PORTS = (2379, 2380)

    def __init__(self, base_dir: Path) -> None:
        from milvus import MilvusServer as EmbeddedMilvus
        from milvus import MilvusServerConfig

        self.base_dir = base_dir
        self._server = EmbeddedMilvus(MilvusServerConfig(), wait_for_started=False)
        self._server.set_base_dir(str(base_dir))
        self._server.config.set("authorization_enabled", True)
        self.uri = ""

    @property
    def running(self) -> bool:
        proc = self._server.server_proc
        return proc is not None and proc.poll() is None

    def start(self, timeout: float = 120.0) -> MilvusStandalone:
        taken = [port for port in self.ETCD_PORTS if not _bindable(port)]
        if taken:
            raise PortInUse(
                f"port {taken[0]} is in use: the embedded etcd of Milvus standalone 2.3.5 "
                "always listens on 2379 and 2380"
            )
        if not self.uri:
            # Chosen once: a server started again on the same ports goes on at once, on others
            # it waits a minute for its first self's sessions in etcd to expire.
            config = self._server.config
            for key in config.configurable_items:
                if key.endswith("_port"):
                    config.set(key, free_port())
            self._server.webservice_port = free_port()
        # The package's own wait polls a health page until its timeout even when the server has
        # exited; this one stops at once then, and waits until a Milvus call is answered.
        self._server.start()
        self.uri = f"http://127.0.0.1:{self._server.listen_port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                self.stop()
                logs = self._logs()
                if "address already in use" in logs:
                    raise PortInUse(f"Milvus standalone found a port in use: {logs[-500:]}")
                raise RuntimeError(f"Milvus standalone exited: {logs[-2000:]}")
            if self._answers():
                return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"Milvus standalone did not start in {timeout:.0f} s")

    def client(self) -> Any:
        """A pymilvus client as root (close it after use)."""
        from pymilvus import MilvusClient

        return MilvusClient(uri=self.uri, token=self.ROOT_TOKEN, timeout=5)

    def _answers(self) -> bool:
        from pymilvus.exceptions import MilvusException

        # pymilvus logs a traceback for each call a server (re)starting refuses.
        logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
        try:
            client = self.client()
        except MilvusException:
            return False
        return _lists_collections(client)

    def _logs(self) -> str:
        logs = self.base_dir / "logs"
        return "\n".join(
            path.read_text(errors="replace") for path in sorted(logs.glob("*")) if path.is_file()
        )

    def stop(self) -> None:
        """Terminate the server (killed after a second) and close its log files."""
        self._server.stop()


def _bindable(port: int) -> bool:
    """Nothing listens on 127.0.0.1:port (a closed connection's TIME_WAIT is no bar, as for the
    server's own bind)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _lists_collections(client: Any) -> bool:
    """The server behind client answers a Milvus call; closes client."""
    from pymilvus.exceptions import MilvusException

    try:
        client.list_collections()
        return True
    except MilvusException:
        return False
    finally:
        client.close()
