"""Who is blocking whom, since when: computed from storage, published on the Prefect run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_progress_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy.orm import Session

from storage import clock, repo
from storage.models import AssignmentStatus, Run, RunStatus
from storage.settings import get_settings
from tasks.dates import days_overdue, local_day
from tasks.env import reading, transaction
from tasks.i18n import N_, gettext, normalize_locale
from tasks.markdown import md_text
from tasks.runs import flow_run_name, prefect_client

WAITING_TAG = "waiting:"


@dataclass(frozen=True)
class Blocker:
    waiting_on: str  # a department code, or "hire"
    who: str  # the person who must act
    kind: str  # handoff | study | appraisal
    module: str
    module_title: str
    since: datetime
    due_at: datetime | None
    days_overdue: int


@dataclass(frozen=True)
class RunView:
    run_id: int
    complete: bool
    blockers: list[Blocker]
    legs_done: int
    legs_total: int

    @property
    def waiting_on(self) -> list[str]:
        return sorted({b.waiting_on for b in self.blockers})


def view_run(*, session: Session, run: Run, now: datetime, locale: str) -> RunView:
    """The run's open gates as blockers, and how many legs of the relay are done."""
    lang = normalize_locale(locale)
    titles = {m["code"]: m["title"][lang] for m in run.plan["modules"]}
    blockers = []
    for gate in repo.open_gates(session=session, run_id=run.id):
        if gate.waiting_on == "hire":
            who = run.hire.name
        elif gate.kind == "appraisal":
            who = repo.department(session=session, code=gate.waiting_on).manager.name
        else:
            who = repo.department(session=session, code=gate.waiting_on).owner.name
        blockers.append(Blocker(
            waiting_on=gate.waiting_on, who=who, kind=gate.kind, module=gate.subject,
            module_title=titles.get(gate.subject, gate.subject), since=gate.opened_at,
            due_at=gate.due_at, days_overdue=days_overdue(gate.due_at, now)))
    assignments = repo.assignments_of(session=session, run_id=run.id)
    modules = [m["code"] for m in run.plan["modules"]]
    delivered = sum(1 for c in modules if repo.latest_delivery(session=session, module_code=c))
    # A module is finished when its quiz was passed or every attempt was used.
    finished = sum(1 for c in modules
                   if c in assignments and assignments[c].status != AssignmentStatus.ASSIGNED)
    return RunView(run_id=run.id, complete=run.status == RunStatus.COMPLETED,
                   blockers=blockers, legs_done=delivered + finished,
                   legs_total=2 * len(modules))


KIND_LABELS = {"handoff": N_("materials hand-off"), "study": N_("study and quiz"),
               "appraisal": N_("appraisal")}
COLUMNS = [N_("Waiting on"), N_("Person"), N_("Module"), N_("Waiting for"), N_("Since"),
           N_("Due"), N_("Days overdue")]


def blocking_markdown(view: RunView, hire: str, locale: str) -> str:
    def _(s: str) -> str:
        return gettext(locale, s)

    title = _("Who is blocking")
    if not view.blockers:
        nobody = _("Nobody: the run is not waiting.")
        return f"# {title}: {md_text(hire)}\n\n{nobody}\n"
    lines = [f"# {title}: {md_text(hire)}", "", "| " + " | ".join(_(c) for c in COLUMNS) + " |",
             "|---|---|---|---|---|---|---|"]
    for b in view.blockers:
        due = local_day(b.due_at) if b.due_at else "—"
        lines.append(f"| {md_text(b.waiting_on)} | {md_text(b.who)} "
                     f"| {md_text(b.module_title)} (`{b.module}`) "
                     f"| {_(KIND_LABELS[b.kind])} | {local_day(b.since)} | {due} "
                     f"| {b.days_overdue} |")
    return "\n".join(lines) + "\n"


@task(cache_policy=NO_CACHE)
def publish_status(run_id: int, flow_run_id: str) -> RunView:
    """Show who blocks the run: `waiting:<who>` tags, the run's name, and two artifacts."""
    locale = get_settings().default_locale
    with reading() as session:
        run = repo.get_run(session=session, run_id=run_id)
        view = view_run(session=session, run=run, now=clock.now(), locale=locale)
        hire, base_name = run.hire.name, flow_run_name(run)
    waiting = [f"{WAITING_TAG}{w}" for w in view.waiting_on]
    name = base_name
    if view.waiting_on:
        waiting_label = gettext(locale, "waiting on")
        name = f"{base_name} · {waiting_label} {', '.join(view.waiting_on)}"
    with prefect_client() as client:
        flow_run = client.read_flow_run(UUID(flow_run_id))
        tags = [t for t in flow_run.tags if not t.startswith(WAITING_TAG)] + waiting
        if sorted(tags) != sorted(flow_run.tags) or flow_run.name != name:
            client.update_flow_run(UUID(flow_run_id), tags=tags, name=name)
    create_markdown_artifact(
        key=f"jieli-run-{run_id}-blocking", markdown=blocking_markdown(view, hire, locale),
        description=gettext(locale, "Who is blocking"))
    create_progress_artifact(
        progress=100.0 * view.legs_done / max(view.legs_total, 1),
        key=f"jieli-run-{run_id}-progress", description=gettext(locale, "Relay legs done"))
    return view


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
