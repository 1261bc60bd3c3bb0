"""The two kinds of transaction: reads never wait for a writer, writers wait for each other."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from storage import repo
from storage.db import read_scope, session_scope, upgrade
from storage.models import AuditEntry

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def _audit(url: str, action: str) -> None:
    with session_scope(url) as s:
        repo.audit(session=s, actor="hr@example.com", action=action, object_type="run",
                   object_id="1", via="cli", now=T0)


def _actions(url: str) -> list[str]:
    with read_scope(url) as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_a_read_answers_at_once_while_a_writer_holds_its_transaction(database_url):
    upgrade(database_url)
    _audit(database_url, "before")
    with session_scope(database_url) as writer:
        repo.audit(session=writer, actor="hr@example.com", action="uncommitted",
                   object_type="run", object_id="1", via="cli", now=T0)
        writer.flush()  # the writer now holds its lock (SQLite: since BEGIN IMMEDIATE)
        started = time.monotonic()
        seen = _actions(database_url)  # another connection, while the writer is open
        took = time.monotonic() - started
    # Under the busy timeout a locked read would have waited a minute, then failed.
    assert took < 2, f"the read waited {took:.1f}s for the writer"
    assert seen == ["before"]  # the writer's work is not seen before it commits
    assert _actions(database_url) == ["before", "uncommitted"]


def test_a_write_inside_a_read_transaction_fails_and_writes_nothing(database_url):
    upgrade(database_url)
    with pytest.raises(DBAPIError), read_scope(database_url) as s:
        repo.audit(session=s, actor="hr@example.com", action="sneaked", object_type="run",
                   object_id="1", via="cli", now=T0)
        s.flush()
    assert _actions(database_url) == []
    _audit(database_url, "after")  # the pooled connection is a writer's again afterwards
    assert _actions(database_url) == ["after"]


def test_sqlite_writers_wait_for_each_other_and_a_check_then_write_is_serialised(tmp_path):
    url = f"sqlite:///{tmp_path / 'jieli.db'}"
    upgrade(url)
    first_checked, second_began = threading.Event(), threading.Event()
    seen_by_second: list[int] = []
    errors: list[BaseException] = []

    def second() -> None:
        try:
            second_began.set()
            with session_scope(url) as s:
                # Check then write: it must see the first writer's row, not act on stale data.
                seen_by_second.append(s.scalar(select(func.count()).select_from(AuditEntry)) or 0)
                repo.audit(session=s, actor="b@example.com", action="second",
                           object_type="run", object_id="1", via="cli", now=T0)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    thread = threading.Thread(target=second)
    with session_scope(url) as s:
        count = s.scalar(select(func.count()).select_from(AuditEntry))
        first_checked.set()
        thread.start()
        second_began.wait(10)
        time.sleep(0.5)  # give the second writer time to run into the lock
        assert not seen_by_second, "the second writer began while the first held the lock"
        repo.audit(session=s, actor="a@example.com", action="first", object_type="run",
                   object_id="1", via="cli", now=T0)
        assert count == 0
    thread.join(30)
    assert not errors, errors
    assert seen_by_second == [1]
    assert _actions(url) == ["first", "second"]
