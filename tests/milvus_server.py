"""Milvus Lite's embedded gRPC server in a child process: a Milvus reached over the network."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path


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
        try:
            client.list_collections()
            return True
        except MilvusException:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
        self._proc = None
