"""Redis for the distributed tests: REDIS_URL if set, else a redis-server of the test's own.

A test that stops, kills or restarts Redis always runs its own server (on a free port, in a
temp dir), never the machine's shared one. Keys are written under a prefix unique to the test
and removed afterwards, so a shared REDIS_URL is never flushed. Without REDIS_URL and without
a redis-server binary the tests skip with the reason; with CI=true they fail instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    """Skip the test, or fail it in CI (CI=true), where it must run."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: distributed tests must not be skipped)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server process of our own, with an append-only file, restartable."""

    def __init__(self, root: Path, port: int | None = None, fsync: str = "everysec") -> None:
        self.root = root
        self.port = port or free_port()
        self.fsync = fsync
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.root.mkdir(parents=True, exist_ok=True)
        cmd = [
            "redis-server",
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.root),
            "--appendonly", "yes",
            "--appendfsync", self.fsync,
            "--save", "",
            "--logfile", str(self.root / "redis.log"),
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        end = time.monotonic() + 10
        while True:
            try:
                if client.ping():
                    return self
            except (redis.ConnectionError, redis.BusyLoadingError):
                if time.monotonic() > end or self.proc.poll() is not None:
                    msg = f"redis-server did not start: {self.root / 'redis.log'}"
                    raise RuntimeError(msg) from None
                time.sleep(0.05)
            finally:
                client.close()

    def stop(self) -> None:
        """A clean shutdown (the append-only file is flushed)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()  # SIGTERM: Redis's clean shutdown (the AOF is fsynced)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def restart(self, down: float) -> None:
        """Stop, stay away `down` seconds, start again on the same port and data."""
        self.stop()
        time.sleep(down)
        self.start()
        self.restarts += 1


def has_redis_server() -> bool:
    return shutil.which("redis-server") is not None


@contextmanager
def own_redis(root: Path) -> Iterator[RedisServer]:
    if not has_redis_server():
        unavailable("redis-server is not on PATH")
    server = RedisServer(root).start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def shared_or_own_redis(root: Path) -> Iterator[str]:
    """A Redis URL: REDIS_URL if set, else our own server's."""
    url = os.environ.get("REDIS_URL")
    if url:
        try:
            redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        except redis.RedisError as e:
            unavailable(f"REDIS_URL={url} does not answer: {e}")
        yield url
        return
    with own_redis(root) as server:
        yield server.url


def new_prefix() -> str:
    return f"sosiktest:{uuid.uuid4().hex[:10]}"


def drop_prefix(url: str, prefix: str) -> None:
    """Remove this test's keys (and only them)."""
    r = redis.Redis.from_url(url)
    try:
        for key in r.scan_iter(match=f"{prefix}:*", count=1000):
            r.delete(key)
    except redis.ConnectionError:
        pass
    finally:
        r.close()
