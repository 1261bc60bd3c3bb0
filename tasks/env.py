"""What every task needs: the settings, the catalog and a transaction on storage."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy.orm import Session

from storage.catalog import Catalog, load_catalog
from storage.db import session_scope
from storage.settings import get_settings


@lru_cache
def get_catalog() -> Catalog:
    """The catalog named by the settings (the default one when none is)."""
    return load_catalog(get_settings().catalog_dir)


@contextmanager
def transaction() -> Iterator[Session]:
    """A transaction on Jieli's storage, committed when the block ends."""
    with session_scope(get_settings().storage_url) as session:
        yield session
