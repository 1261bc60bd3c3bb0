"""Engines, sessions and migrations. Nothing connects at import time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


# How long a SQLite writer waits for another writer before "database is locked". Writers hold
# the lock for milliseconds and the runner bounds how many passes run at once, so a minute is
# never reached under that load; it only stops a wait from being endless.
BUSY_TIMEOUT_SECONDS = 60
# Connections kept open per process. SQLAlchemy's default (5) is fewer than the forms app's
# concurrent requests: beyond it each transaction opened a connection (and set its pragmas)
# and closed it again. A pool only opens as many as are in use at once; this many is anyio's
# default thread pool, the most page requests a forms process runs at once.
SQLITE_POOL_SIZE = 40
# The execution option that marks a read-only transaction (see `read_scope`).
READING = "jieli_reading"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, say when a transaction begins (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # First, so that even switching to WAL waits for a lock instead of failing.
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
    # WAL lets readers read while a writer writes, without waiting for each other.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _query_only(connection: Any, on: bool) -> None:
    # Pooled connections serve both kinds; the pragma is sent only when the kind changes.
    if connection.info.get("query_only") != on:
        connection.exec_driver_sql(f"PRAGMA query_only={'ON' if on else 'OFF'}")
        connection.info["query_only"] = on


def _sqlite_begin(connection: Any) -> None:
    if connection.get_execution_options().get(READING):
        # A deferred BEGIN takes no lock in WAL mode: the reader sees a snapshot and never
        # waits for a writer nor makes one wait. query_only makes a write in it fail loudly
        # instead of trying to upgrade the lock (which SQLite cannot wait for).
        _query_only(connection, True)
        connection.exec_driver_sql("BEGIN")
        return
    # A write transaction takes SQLite's write lock when it begins (waiting up to the busy
    # timeout), so that a check-then-write (is there a delivery? then open a gate) cannot
    # interleave with another writer.
    _query_only(connection, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _postgresql_begin(connection: Any) -> None:
    if connection.get_execution_options().get(READING):
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")


def normalize_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given without a driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One engine per database URL per process."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS},
                               pool_size=SQLITE_POOL_SIZE)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url, pool_pre_ping=True)
    event.listen(engine, "begin", _postgresql_begin)
    return engine


@lru_cache(maxsize=16)
def _sessions(engine: Engine, reading: bool) -> sessionmaker[Session]:
    # Made once: a sessionmaker per transaction cost a page about a millisecond.
    bind = engine.execution_options(**{READING: True}) if reading else engine
    return sessionmaker(bind, expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A write transaction: committed when the block ends, rolled back on an exception.

    On SQLite it holds the write lock from its start, so other writers wait for it."""
    with _sessions(get_engine(url), False).begin() as session:
        yield session


@contextmanager
def read_scope(url: str) -> Iterator[Session]:
    """A read-only transaction: on SQLite it takes no lock and waits for none; a write fails."""
    # Ended by a commit rather than a rollback so that what was read stays loaded afterwards.
    with _sessions(get_engine(url), True).begin() as session:
        yield session


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (creating it if it is an empty SQLite file)."""
    command.upgrade(alembic_config(url), revision)
