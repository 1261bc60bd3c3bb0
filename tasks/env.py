"""What every task needs: the settings, the catalog and a transaction on storage.

The catalog is the installation's: the one `jieli catalog import` installed last (a copy in
`<data dir>/catalogs/`, named by the file `catalogs/CURRENT`), else the directory of
JIELI_CATALOG_DIR, else the default one. Every process (the forms app, the runner, each pass,
the CLI) keeps the catalog it read and looks at CURRENT's stamp on each `get_catalog()` (one
`stat`), so an import reaches them all without a restart (tasks/catalog_io.py).

Two kinds of transaction, chosen by what the code does: `transaction()` for code that writes
(on SQLite it holds the write lock from its start, so a check-then-write is serialised), and
`reading()` for code that only reads (no lock: pages and status views never wait for a flow
pass, nor make one wait). A write inside `reading()` fails instead of slipping through.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy.orm import Session

from storage.catalog import Catalog, load_catalog
from storage.db import read_scope, session_scope
from storage.settings import get_settings

CATALOGS = "catalogs"  # under the data directory: each catalog `jieli catalog import` installed
CURRENT = "CURRENT"  # in CATALOGS: the name of the one in use


def catalog_pointer() -> Path:
    """The file naming the imported catalog in use (absent before the first import)."""
    return get_settings().data_dir / CATALOGS / CURRENT


@lru_cache(maxsize=4)
def _load(pointer: str, stamp: tuple[int, int] | None, configured: Path | None) -> Catalog:
    if stamp is None:
        return load_catalog(configured)
    place = Path(pointer).parent / Path(pointer).read_text(encoding="utf-8").strip()
    return load_catalog(place)


class _InstalledCatalog:
    """`get_catalog()`, read again when an import replaced CURRENT (its inode and time change:
    it is replaced whole, never written in place). Called often: a `stat`, no Path work."""

    def __init__(self) -> None:
        self._place: tuple[object, str] = (None, "")  # (the settings, CURRENT's path)
        # One thread reads a new catalog while the others wait for it: without it, each of the
        # requests arriving together after a start or an import parsed the YAML itself (ten
        # readers at once: the first pages took 2 s instead of 0.1 s).
        self._reading = threading.Lock()

    def __call__(self) -> Catalog:
        """The installation's catalog (see the module's docstring)."""
        settings = get_settings()
        if self._place[0] is not settings:
            self._place = (settings, os.path.join(settings.data_dir, CATALOGS, CURRENT))
        pointer = self._place[1]
        try:
            found = os.stat(pointer)
            stamp: tuple[int, int] | None = (found.st_ino, found.st_mtime_ns)
        except FileNotFoundError:
            stamp = None
        with self._reading:
            return _load(pointer, stamp, settings.catalog_dir)

    @staticmethod
    def cache_clear() -> None:
        """Forget the catalogs read (tests that change a catalog's files in place)."""
        _load.cache_clear()


get_catalog = _InstalledCatalog()


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
