"""What HR and the boss read: every run with who blocks it, one run's legs, a position's RACI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from storage import clock, repo
from storage.models import AppraisalScore, QuizAttempt
from tasks.attribution import readable_findings, verdict_of
from tasks.dates import first_day, spoken_day, spoken_time
from tasks.env import reading
from tasks.i18n import normalize_locale
from tasks.labels import names
from tasks.status import Blocker, view_run, waiting_for


@dataclass(frozen=True)
class Waiting:
    """One leg a run waits on, as HR reads it."""

    sentence: str  # 待市场部 李娜 提交「客户沟通」的培训资料
    since: str
    due: str
    days_overdue: int


@dataclass(frozen=True)
class RunRow:
    id: int
    hire: str
    position: str
    position_title: str
    status: str  # the code: the page decides on it; `state` is what it shows
    state: str
    first_day: str  # the hire's first working day, in the tense it needs
    blockers: list[Blocker]
    waiting: list[Waiting]


def _waiting(blockers: list[Blocker], locale: str) -> list[Waiting]:
    return [Waiting(waiting_for([b], locale), spoken_day(b.since, locale),
                    spoken_day(b.due_at, locale) if b.due_at else "", b.days_overdue)
            for b in blockers]


def runs_overview(locale: str) -> list[RunRow]:
    """Every run HR follows: the hire, the first day, its state and who it waits on."""
    now = clock.now()
    n = names(locale)
    with reading() as session:
        rows = []
        for run in repo.active_runs(session=session):
            blockers = view_run(session=session, run=run, now=now, locale=locale).blockers
            rows.append(RunRow(run.id, run.hire.name, run.position_code,
                               run.plan.position.title.get(n.lang), run.status,
                               n.run_state(run.status),
                               first_day(run.start_date, locale, line=True),
                               blockers, _waiting(blockers, locale)))
        return rows


@dataclass(frozen=True)
class Leg:
    module: str
    title: str
    owner: str
    requested: str
    handoff_due: str
    delivered: str
    delivered_by: str
    assigned: str
    study_due: str
    status: str
    scores: list[int]


@dataclass(frozen=True)
class Timeline:
    """The training record (培训记录): each module's legs, the appraisal, the findings."""

    run_id: int
    hire: str
    position: str
    first_day: str  # the hire's first working day, in the tense it needs
    legs: list[Leg]
    scores: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = "pending"
    findings: list[dict[str, Any]] = field(default_factory=list)


def run_timeline(run_id: int, locale: str) -> Timeline:
    """Each module's legs: hand-off requested, due, delivered by whom; assigned, attempts."""
    n = names(locale)
    lang = normalize_locale(locale)

    def when(moment: datetime | None) -> str:
        return spoken_time(moment, locale) if moment else ""

    def day(moment: datetime | None) -> str:
        return spoken_day(moment, locale) if moment else ""

    with reading() as session:
        run = repo.get_run(session=session, run_id=run_id)
        handoffs = repo.handoffs_of(session=session, run_id=run_id)
        assignments = repo.assignments_of(session=session, run_id=run_id)
        legs = []
        for m in run.plan.modules:
            code = m.code
            h, a = handoffs.get(code), assignments.get(code)
            delivery = repo.latest_delivery(session=session, module_code=code)
            scores = [q.score for q in session.scalars(
                select(QuizAttempt).where(QuizAttempt.assignment_id == a.id)
                .order_by(QuizAttempt.attempt_no))] if a else []
            legs.append(Leg(
                module=code, title=m.title.get(lang),
                owner=n.member(m.owner,
                               repo.department(session=session, code=m.owner).owner.name),
                requested=when(h.requested_at) if h else "",
                handoff_due=day(h.due_at) if h else "",
                delivered=when(delivery.delivered_at) if delivery else "",
                delivered_by=delivery.delivered_by.name if delivery else "",
                assigned=when(a.assigned_at) if a else "",
                study_due=day(a.due_at) if a else "",
                status=n.study_state(a.status) if a else "", scores=scores))
        items = {i.code: i.title.get(lang) for i in run.plan.position.appraisal.items}
        appraisal = [{"item": items.get(s.item, s.item), "criterion": n.criterion(s.criterion),
                      "score": s.score, "comment": s.comment, "by": s.appraiser_id}
                     for s in session.scalars(select(AppraisalScore).where(
                         AppraisalScore.run_id == run_id).order_by(AppraisalScore.id))]
        verdict = verdict_of(session, run_id)
        return Timeline(run.id, run.hire.name, run.plan.position.title.get(lang),
                        first_day(run.start_date, locale, line=True), legs, appraisal,
                        verdict.outcome,
                        readable_findings(verdict.findings, run.plan, locale))
