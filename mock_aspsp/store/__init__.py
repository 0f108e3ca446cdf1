"""All mutable state of the sandbox, behind one interface (``interface.Store``).

The scenario (banks, PSUs, accounts, TPPs) is read-only data; everything that
changes while the mock runs lives here: the clock offset, the current scenario
text, SCA journeys, authorization codes, token pairs ("grants"), runtime
account and TPP changes, the PSU lock-out and the request journal. The default
is one SQLite file in WAL mode (``sqlite``), shared by every worker of a server;
``redis`` is the same interface on Redis, shared by several replicas.
``open_store`` picks one from the configuration; ``records`` holds what both
keep and hand back.
"""
from __future__ import annotations

from typing import Optional
from urllib.parse import urlsplit, urlunsplit

from .interface import Store
from .sqlite import SqliteStore


def open_store(url: Optional[str], db: str, journal_limit: int = 10_000) -> Store:
    """The store a server uses: SQLite at ``db`` by default, or the one a URL names.

    ``redis://host:6379/0`` (also ``rediss://``, ``unix://``; ``?prefix=team-a:`` namespaces the keys)
    is shared by several replicas (``redis.RedisStore``, the same interface and rules);
    ``sqlite:///path`` names a SQLite file. Raises ValueError for another scheme. Redis is first
    reached by the first call (StoreUnavailable if it cannot be).
    """
    if not url:
        return SqliteStore(db, journal_limit=journal_limit)
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "sqlite":
        return SqliteStore(url.split("://", 1)[1] or db, journal_limit=journal_limit)
    if scheme in ("redis", "rediss", "unix"):
        from .redis import RedisStore  # the redis client is imported only when asked for

        return RedisStore.from_url(url, journal_limit=journal_limit, location=describe_store(url, db))
    raise ValueError(f"store {url!r}: expected redis://host:6379/0 (or rediss://, unix://) or sqlite:///path")


def describe_store(url: Optional[str], db: str) -> str:
    """Where the state lives, for the start-up line and errors (a Redis password is not shown)."""
    if not url:
        return db
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
