"""Installations a test serves in its own process. Their settings are passed in whole
(`storage.settings.use_settings`), never written to os.environ for the code to read again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from deployments.stack import free_port
from storage.db import get_engine
from storage.settings import Settings, SmtpSettings, get_settings, use_settings

# The `configure` fixture (tests/conftest.py): configure(default_locale="en", smtp_port=port).
Configure = Callable[..., Settings]


def settings_for(data_dir: Path, **fields: Any) -> Settings:
    """An installation's settings: storage in `data_dir`, Prefect and the mail server where
    nobody listens (a resume is deferred at once, mail stays in the outbox), `fields` over
    these."""
    fields.setdefault("prefect_api_url", f"http://127.0.0.1:{free_port()}/api")
    fields.setdefault("prefect_connect_retries", 0)  # as `jieli up` runs the forms app
    fields.setdefault("smtp", SmtpSettings(port=free_port()))
    return Settings(data_dir=data_dir, **fields)


@contextmanager
def installed(settings: Settings) -> Iterator[Settings]:
    """`settings` as this process's for the block; then the ones before, and the storage's
    connections closed."""
    before = use_settings(settings)
    try:
        yield settings
    finally:
        use_settings(before)
        get_engine(settings.storage_url).dispose()


@contextmanager
def changed(smtp_port: int | None = None, **fields: Any) -> Iterator[Settings]:
    """The process's settings with `fields` (and the mail server's port) changed, for the
    block: the same installation, configured otherwise."""
    now = get_settings()
    if smtp_port is not None:
        fields["smtp"] = now.smtp.model_copy(update={"port": smtp_port})
    mine = now.model_copy(update=fields)
    before = use_settings(mine)
    try:
        yield mine
    finally:
        if get_settings() is mine:  # else the installation it changed has ended already
            use_settings(before)


@contextmanager
def ready_storage(data_dir: Path, database_url: str) -> Iterator[str]:
    """`database_url` migrated and holding the default catalog, as the process's installation
    for the block (its files in `data_dir`)."""
    from storage import repo
    from storage.db import session_scope, upgrade
    from tasks.env import get_catalog

    with installed(settings_for(data_dir, database_url=database_url)):
        upgrade(database_url)
        with session_scope(database_url) as session:
            repo.sync_catalog(session=session, catalog=get_catalog())
        yield database_url
