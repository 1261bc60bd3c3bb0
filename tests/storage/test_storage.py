"""Storage on SQLite and PostgreSQL: migrations, and the repository's guarantees."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email import message_from_string
from email.policy import default

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import StatementError

from storage import repo
from storage.catalog import load_catalog
from storage.db import get_engine, session_scope, upgrade
from storage.models import Base, Gate, GateKind, Handoff, OutboxMessage, Run, RunStatus
from tasks.email import Recipient, render

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def test_upgrade_head_from_empty_creates_every_table(database_url):
    upgrade(database_url)
    tables = set(inspect(get_engine(database_url)).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_migrations_match_the_models(database_url):
    upgrade(database_url)
    with get_engine(database_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_upgrading_to_0012_copies_each_runs_pass_mark_out_of_its_plan(database_url):
    """Runs made before migration 0012 get their appraisal pass mark from their plan."""
    import json

    from sqlalchemy import text

    upgrade(database_url, "0011")
    catalog = load_catalog()
    with session_scope(database_url) as s:
        repo.sync_catalog(session=s, catalog=catalog)
    plans = {code: repo.plan_for(catalog, code) for code in catalog.positions}
    developer = plans["python-developer"]
    # A run whose position was made stricter before it began: its plan says 85.
    stricter = developer.model_copy(update={"position": developer.position.model_copy(
        update={"appraisal": developer.position.appraisal.model_copy(
            update={"pass_mark": 85})})})
    with get_engine(database_url).begin() as c:
        for i, (code, plan) in enumerate([*plans.items(), ("python-developer", stricter)]):
            person = c.execute(text("insert into people (name, email, locale) values "
                                    "(:n, :e, 'zh_CN') returning id"),
                               {"n": f"员工{i}", "e": f"p{i}@example.com"}).scalar_one()
            c.execute(text("insert into runs (hire_id, position_code, start_date, started_at, "
                           "plan, status, pass_no) values (:h, :p, '2026-12-01', :t, :plan, "
                           "'completed', 3)"),
                      {"h": person, "p": code, "t": T0,
                       "plan": json.dumps(plan.model_dump(mode="json"))})
    upgrade(database_url)
    with session_scope(database_url) as s:
        runs = s.scalars(select(Run).order_by(Run.id)).all()
        assert [r.appraisal_pass_mark for r in runs] == \
            [p.position.appraisal.pass_mark for p in [*plans.values(), stricter]]
        assert runs[-1].appraisal_pass_mark == 85


def _ready(url: str):
    upgrade(url)
    catalog = load_catalog()
    with session_scope(url) as s:
        repo.sync_catalog(session=s, catalog=catalog)
        repo.sync_catalog(session=s, catalog=catalog)  # a second sync changes nothing
    return catalog


def _start(url, catalog, email, position="marketing-specialist") -> int:
    with session_scope(url) as s:
        hire = repo.upsert_person(session=s, name="张伟", email=email)
        return repo.create_run(session=s, catalog=catalog, hire=hire, position_code=position,
                               start_date=date(2026, 12, 1), now=T0).id


def test_timestamps_come_back_aware_utc(database_url):
    catalog = _ready(database_url)
    run_id = _start(database_url, catalog, "a@example.com")
    with session_scope(database_url) as s:
        started = s.get_one(Run, run_id).started_at
    assert started == T0 and started.tzinfo is not None


def test_a_delivery_closes_the_gate_of_every_run_waiting_on_it(database_url):
    catalog = _ready(database_url)
    runs = [_start(database_url, catalog, f"h{i}@example.com") for i in range(2)]
    with session_scope(database_url) as s:
        owner = s.get_one(repo.Department, "marketing").owner
        for run_id in runs:
            run = repo.get_run(session=s, run_id=run_id)
            _, created = repo.ensure_handoff(
                session=s, run=run, module_code="customer-communication",
                department="marketing", owner=owner, now=T0, due=T0 + timedelta(days=2))
            assert created
            repo.open_gate(session=s, run_id=run_id, kind=GateKind.HANDOFF,
                           subject="customer-communication", waiting_on="marketing", now=T0,
                           due=T0 + timedelta(days=2))
    with session_scope(database_url) as s:
        owner = s.get_one(repo.Department, "marketing").owner
        _, affected = repo.record_delivery(
            session=s, module_code="customer-communication", by=owner,
            now=T0 + timedelta(days=1), via="cli",
            items=[repo.MaterialItem(material_code="communication-scripts")])
    assert affected == runs
    with session_scope(database_url) as s:
        assert s.scalar(select(func.count()).select_from(Gate)
                        .where(Gate.closed_at.is_(None))) == 0
        assert all(h.delivered_at == T0 + timedelta(days=1) for h in s.scalars(select(Handoff)))
        assert all(r.resume_requested_at is not None for r in s.scalars(select(Run)))
        assert repo.begin_pass(session=s, run_id=runs[0]) == 1
    # A pass that began after the request may wait, and takes the request up; a pass that
    # began before it must take another pass.
    with session_scope(database_url) as s:
        assert not repo.settle_resume_request(session=s, run_id=runs[1], pass_began=T0)
        assert s.get_one(Run, runs[1]).resume_requested_at is not None
        assert repo.settle_resume_request(session=s, run_id=runs[0],
                                          pass_began=T0 + timedelta(days=2))
        assert s.get_one(Run, runs[0]).resume_requested_at is None


def test_handoffs_and_gates_are_created_once(database_url):
    catalog = _ready(database_url)
    run_id = _start(database_url, catalog, "once@example.com")
    for _ in range(2):
        with session_scope(database_url) as s:
            run = repo.get_run(session=s, run_id=run_id)
            owner = s.get_one(repo.Department, "hr").owner
            repo.ensure_handoff(session=s, run=run, module_code="culture", department="hr",
                                owner=owner, now=T0, due=T0)
            repo.open_gate(session=s, run_id=run_id, kind=GateKind.HANDOFF, subject="culture",
                           waiting_on="hr", now=T0, due=T0)
    with session_scope(database_url) as s:
        assert s.scalar(select(func.count()).select_from(Handoff)) == 1
        assert s.scalar(select(func.count()).select_from(Gate)) == 1


def test_a_state_outside_its_enum_is_refused_before_anything_is_written(database_url):
    """Statuses and gate kinds come back as their enum members; a misspelt one is refused
    when written or compared, instead of being stored or quietly matching nothing."""
    catalog = _ready(database_url)
    run_id = _start(database_url, catalog, "enum@example.com")
    with session_scope(database_url) as s:
        assert s.get_one(Run, run_id).status is RunStatus.ACTIVE
        repo.open_gate(session=s, run_id=run_id, kind=GateKind.HANDOFF, subject="culture",
                       waiting_on="hr", now=T0, due=T0)
    with session_scope(database_url) as s:
        assert s.scalars(select(Gate)).one().kind is GateKind.HANDOFF
        with pytest.raises(StatementError, match="'hand-off' is not a valid GateKind"):
            s.scalars(select(Gate).where(Gate.kind == "hand-off")).all()
    with pytest.raises(StatementError, match="'complete' is not a valid RunStatus"), \
            session_scope(database_url) as s:
        s.get_one(Run, run_id).status = "complete"  # type: ignore[assignment]
    with session_scope(database_url) as s:
        assert s.get_one(Run, run_id).status is RunStatus.ACTIVE


def test_a_message_is_queued_once_per_key(database_url):
    _ready(database_url)
    message = render("assignment", to=Recipient("张伟", "zhang.wei@example.com"), pass_mark=80,
                     modules=[{"title": "企业文化", "due": "12月4日（周五）", "link": "http://x/1",
                               "note": "", "note_by": ""}])
    with session_scope(database_url) as s:
        assert repo.queue_message(session=s, key="k1", run_id=None, kind="assignment",
                                  message=message, now=T0)
        assert not repo.queue_message(session=s, key="k1", run_id=None, kind="assignment",
                                      message=message, now=T0)
    with session_scope(database_url) as s:
        row = s.scalars(select(OutboxMessage)).one()
    assert row.to_addr.endswith("<zhang.wei@example.com>") and "张伟" in row.to_addr
    parsed = message_from_string(row.message, policy=default)
    assert "企业文化" in parsed.get_body(("plain",)).get_content()
    assert parsed["Subject"] == message["Subject"]
