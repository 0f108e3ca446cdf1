"""A real ``redis-server`` (Debian package ``redis-server``) for the Redis store's tests and the benchmark.

Import it from any test folder (``tests/`` is on ``sys.path``). The server
listens on a free loopback port, keeps nothing on disk unless asked
(``--save '' --appendonly no``), and is awaited by a bounded poll of PING.
``persistent=True`` turns on an fsync-always append-only file, so a stop and
restart keep every acknowledged write (the outage tests).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Optional

from mock_aspsp.testing import free_port, stop_process

STARTUP_LIMIT_S = 10
STOP_LIMIT_S = 10
MISSING = "redis-server not found: install the Debian package redis-server (.ci/install-system-deps does)"


def find_redis_server() -> Optional[str]:
    found = shutil.which("redis-server")
    if found:
        return found
    for candidate in ("/usr/bin/redis-server", "/usr/sbin/redis-server", "/usr/local/bin/redis-server"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    def __init__(self, workdir: Path, persistent: bool = False, executable: Optional[str] = None):
        self.executable = executable or find_redis_server()
        if self.executable is None:
            raise FileNotFoundError(MISSING)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.persistent = persistent
        self.port = free_port()
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> "RedisServer":
        """Start (or start again, on the same port and files) and return once it answers PING."""
        durability = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        command = [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                   *durability, "--dir", str(self.workdir), "--daemonize", "no", "--protected-mode", "yes"]
        log = (self.workdir / "redis.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}:\n{self.log_text()}")
            if _ping(self.port):
                return self
            time.sleep(0.05)  # polling for start-up, bounded by the deadline
        self.stop()
        raise RuntimeError(f"redis-server did not answer within {STARTUP_LIMIT_S}s:\n{self.log_text()}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not stop in time."""
        if self.process is not None:
            stop_process(self.process, STOP_LIMIT_S)

    def log_text(self) -> str:
        path = self.workdir / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def url(self, db: int = 0, prefix: Optional[str] = None) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}" + (f"?prefix={prefix}" if prefix else "")

    def client(self, db: int = 0):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, db=db, decode_responses=True)

    def delete_prefix(self, prefix: str, db: int = 0) -> int:
        """Delete every key under ``prefix`` (a test's own namespace)."""
        client = self.client(db)
        try:
            keys = list(client.scan_iter(match=prefix.replace("*", r"\*") + "*", count=1000))
            for start in range(0, len(keys), 1000):
                client.delete(*keys[start:start + 1000])
            return len(keys)
        finally:
            client.close()
