"""Shared fixtures: real SQLite and PostgreSQL databases, isolated settings."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from storage.settings import Settings

PG_ADMIN_URL = os.environ.get("JIELI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> bool:
    try:
        with create_engine(PG_ADMIN_URL).connect() as c:
            c.execute(text("select 1"))
        return True
    except Exception:
        return False


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """An empty database, on SQLite and on PostgreSQL (a fresh database per test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'jieli.db'}"
        return
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL not reachable")
    name = f"jieli_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    from storage.db import get_engine

    get_engine(url).dispose()
    get_engine.cache_clear()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def configure() -> Iterator[Callable[..., Settings]]:
    """Configure this process's installation otherwise for the rest of the test:
    `configure(default_locale="en")`, `configure(smtp_port=port)` (tests/installation.py)."""
    from tests.installation import changed

    with ExitStack() as changes:
        yield lambda **fields: changes.enter_context(changed(**fields))


@pytest.fixture(scope="session")
def migrated_storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with every migration applied and the default catalog loaded, made once
    per session: tests that need a ready installation copy it instead of migrating again."""
    from storage import repo
    from storage.catalog import load_catalog
    from storage.db import get_engine, session_scope, upgrade

    path = tmp_path_factory.mktemp("migrated") / "jieli.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    with session_scope(url) as session:
        repo.sync_catalog(session=session, catalog=load_catalog(None))
    get_engine(url).dispose()
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules marked slow (a stack, a browser: 20-175 s each) before the quick ones, each in
    its own order. pytest-xdist (`--dist loadfile --no-loadscope-reorder`, pyproject.toml)
    hands the next module to whichever worker is free: a long module taken last would keep
    one worker busy while the others sit idle. Left to itself, xdist orders modules by their
    number of tests, which says little about their length here."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Debian's chromium driven by Playwright (never a browser Playwright downloads)."""
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (apt-get install -y chromium)")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()
