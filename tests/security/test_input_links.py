"""Refused links cost the audit log a bounded number of short rows."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from tests.forms import conftest
from tests.forms.conftest import Forms
from tests.security.test_input_body import call

forms = conftest.forms  # the fixture: the forms app in-process on real SQLite


def test_200_requests_with_a_100_kb_path_grow_the_audit_log_by_a_few_short_rows(forms: Forms):
    before = forms.counts()["audit_log"]

    async def requests() -> list[int]:
        # Through ASGI directly: httpx refuses to send a URL this long.
        answers = [await call("/handoff/" + "A" * 100_000, iter([]), "text/plain",
                              method="GET") for _ in range(200)]
        assert "链接过长" in answers[-1].text
        return [a.status for a in answers]

    assert set(asyncio.run(requests())) == {414}
    # Refused before any route: nothing is looked up or written.
    assert forms.counts()["audit_log"] == before


def test_refusals_from_one_client_are_audited_at_most_21_a_minute(forms: Forms):
    # Paths and tokens short enough to reach the link check, still longer than any real one.
    for i in range(200):
        response = forms.client.get(f"/handoff/{i:04d}{'B' * 1000}?t={'x' * 600}")
        assert response.status_code == 403
    assert "链接无效" in response.text
    rows = forms.sql("select action, object_id, detail from audit_log "
                     "where action like 'refused-link:%'")
    # 20 refusals and one row saying the rest were only counted; two minutes at most.
    assert 21 <= len(rows) <= 42, len(rows)
    assert max(len(object_id) for _, object_id, _ in rows) <= 64
    assert max(len(detail) for *_, detail in rows) <= 200
    assert [a for a, *_ in rows].count("refused-link:rate-limited") in (1, 2)
    total = forms.sql("select sum(count) from refusal_counts")[0][0]
    assert total == 200  # every refusal is still counted


def test_refusals_of_other_clients_are_still_audited(forms: Forms):
    for _ in range(30):
        forms.client.get("/handoff/culture?t=nonsense")
    from fastapi.testclient import TestClient

    from forms.app import app

    other = TestClient(app, client=("192.0.2.7", 4000))
    assert other.get("/handoff/culture?t=nonsense").status_code == 403
    assert forms.sql("select count(*) from audit_log where detail like '%192.0.2.7%'") == [(1,)]


def test_the_refusal_counter_counts_per_client_and_minute(database_url):
    """One upsert on SQLite and PostgreSQL alike; old minutes are dropped."""
    from datetime import UTC, datetime, timedelta

    from storage import repo
    from storage.db import session_scope, upgrade

    upgrade(database_url)
    now = datetime(2026, 11, 28, 9, 0, 30, tzinfo=UTC)
    with session_scope(database_url) as session:
        counts = [repo.count_refusal(session=session, client="198.51.100.1", now=now)
                  for _ in range(3)]
        other = repo.count_refusal(session=session, client="198.51.100.2", now=now)
        later = repo.count_refusal(session=session, client="198.51.100.1",
                                   now=now + timedelta(minutes=5))
    assert counts == [1, 2, 3] and other == 1 and later == 1
    with session_scope(database_url) as session:
        rows = session.execute(text("select client, count from refusal_counts")).all()
    assert [tuple(r) for r in rows] == [("198.51.100.1", 1)]
