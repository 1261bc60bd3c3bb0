"""A pass's bookkeeping on the Prefect run: its number, whether it may wait, and where the run
stands (tags, name, artifacts, a log line), as `tasks/reports/relay.py` computes it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from prefect import task
from prefect.cache_policies import NO_CACHE

from storage import clock, repo
from storage.models import RunStatus
from storage.settings import get_settings
from tasks.artifacts import (
    artifact_key,
    latest_artifact,
    publish_markdown,
    publish_progress,
)
from tasks.env import reading, transaction
from tasks.i18n import gettext
from tasks.reports.relay import (
    VERDICT_NAMES,
    RunView,
    blocking_markdown,
    changed_legs,
    leg_rows,
    legs_markdown,
    pass_story,
    responsible_parties,
    verdict_name,
    view_run,
    waiting_name,
)
from tasks.reports.verdict import verdict_of
from tasks.runs import flow_run_name, prefect_client

WAITING_TAG = "waiting:"
VERDICT_TAG = "verdict:"
RESPONSIBLE_TAG = "responsible:"
# The tags a pass owns: it sets them from storage and leaves every other tag alone.
STATUS_TAGS = (WAITING_TAG, VERDICT_TAG, RESPONSIBLE_TAG)


@dataclass(frozen=True)
class Published:
    view: RunView
    story: str  # one line for the run's log: what changed, who is waited on


@task(cache_policy=NO_CACHE)
def publish_status(run_id: int, flow_run_id: str) -> Published:
    """Show where the run stands: tags, name, one artifact per kind, and a line for its log."""
    locale = get_settings().default_locale
    now = clock.now()
    with reading() as session:
        run = repo.get_run(session=session, run_id=run_id)
        view = view_run(session=session, run=run, now=now, locale=locale)
        rows = leg_rows(session=session, run=run, now=now, locale=locale)
        verdict = verdict_of(session, run_id)
        hire, base_name, pass_no = run.hire.name, flow_run_name(run), run.pass_no
        keys = {kind: artifact_key(run, kind) for kind in ("blocking", "progress", "legs")}
    tags = [f"{WAITING_TAG}{w}" for w in view.waiting_on]
    name = base_name
    if verdict is not None and verdict.outcome in VERDICT_NAMES:
        tags += [f"{VERDICT_TAG}{verdict.outcome}"] + [
            f"{RESPONSIBLE_TAG}{r}" for r in responsible_parties(verdict)]
        name = f"{base_name} · {verdict_name(verdict.outcome, locale)}"
        if view.waiting_on:  # the remedial training the verdict assigned
            name += f" · {waiting_name(view, locale)}"
    elif view.waiting_on:
        name = f"{base_name} · {waiting_name(view, locale)}"
    with prefect_client() as client:
        flow_run = client.read_flow_run(UUID(flow_run_id))
        kept = [t for t in flow_run.tags if not t.startswith(STATUS_TAGS)]
        if sorted(kept + tags) != sorted(flow_run.tags) or flow_run.name != name:
            client.update_flow_run(UUID(flow_run_id), tags=kept + tags, name=name)
        previous = latest_artifact(client, UUID(flow_run_id), keys["legs"])
        before = str(previous.data) if previous is not None else None
    publish_markdown(flow_run_id=flow_run_id, key=keys["blocking"],
                     markdown=blocking_markdown(view, hire, locale),
                     description=gettext(locale, "Who the run waits on"))
    publish_markdown(flow_run_id=flow_run_id, key=keys["legs"],
                     markdown=legs_markdown(rows, hire, locale),
                     description=gettext(locale, "Relay legs"))
    publish_progress(flow_run_id=flow_run_id, key=keys["progress"],
                     progress=100.0 * view.legs_done / max(view.legs_total, 1),
                     description=gettext(locale, "%(done)s of %(total)s relay legs done") % {
                         "done": view.legs_done, "total": view.legs_total})
    story = pass_story(pass_no, view, changed_legs(rows, before), verdict, locale)
    return Published(view, story)


@dataclass(frozen=True)
class PassStart:
    number: int
    began_at: datetime


@task(cache_policy=NO_CACHE)
def begin_pass(run_id: int) -> PassStart:
    began = clock.now()
    with transaction() as session:
        return PassStart(repo.begin_pass(session=session, run_id=run_id), began)


@task(cache_policy=NO_CACHE)
def must_wait(run_id: int, began: PassStart) -> bool:
    """False when someone acted after this pass began: take another pass instead of waiting."""
    with transaction() as session:
        return repo.settle_resume_request(session=session, run_id=run_id,
                                          pass_began=began.began_at)


@task(cache_policy=NO_CACHE)
def complete_run(run_id: int) -> None:
    now = clock.now()
    with transaction() as session:
        run = repo.get_run(session=session, run_id=run_id)
        if run.completed_at is None:
            run.status, run.completed_at = RunStatus.COMPLETED, now
            # The relay is over: nothing it waited on is awaited any more.
            for gate in repo.open_gates(session=session, run_id=run_id):
                gate.closed_at = now
            repo.audit(session=session, actor="system", action="run-completed",
                       object_type="run", object_id=str(run_id), via="flow", now=now)
