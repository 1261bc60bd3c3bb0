"""What every task needs: the settings, the catalog and a transaction on storage.

Two kinds of transaction, chosen by what the code does: `transaction()` for code that writes
(on SQLite it holds the write lock from its start, so a check-then-write is serialised), and
`reading()` for code that only reads (no lock: pages and status views never wait for a flow
pass, nor make one wait). A write inside `reading()` fails instead of slipping through.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy.orm import Session

from storage.catalog import Catalog, load_catalog
from storage.db import read_scope, session_scope
from storage.settings import get_settings


@lru_cache
def get_catalog() -> Catalog:
    """The catalog named by the settings (the default one when none is)."""
    return load_catalog(get_settings().catalog_dir)


@contextmanager
def transaction() -> Iterator[Session]:
    """A write transaction on Jieli's storage, committed when the block ends."""
    with session_scope(get_settings().storage_url) as session:
        yield session


@contextmanager
def reading() -> Iterator[Session]:
    """A read-only transaction on Jieli's storage, for code that writes nothing."""
    with read_scope(get_settings().storage_url) as session:
        yield session
