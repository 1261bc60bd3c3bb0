"""What HR and the boss read: every run with who blocks it, one run's legs, a position's RACI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from storage import clock, repo
from storage.models import AppraisalScore, QuizAttempt
from tasks.attribution import verdict_of
from tasks.dates import local_day, local_time
from tasks.env import reading
from tasks.status import Blocker, view_run


@dataclass(frozen=True)
class RunRow:
    id: int
    hire: str
    position: str
    position_title: str
    status: str
    started: str
    blockers: list[Blocker]


def runs_overview(locale: str) -> list[RunRow]:
    now = clock.now()
    lang = "en" if locale == "en" else "zh_CN"
    with reading() as session:
        return [RunRow(run.id, run.hire.name, run.position_code,
                       run.plan["position"]["title"][lang], run.status,
                       local_day(run.started_at),
                       view_run(session=session, run=run, now=now, locale=locale).blockers)
                for run in repo.active_runs(session=session)]


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


def _day(moment: datetime | None) -> str:
    return local_time(moment) if moment else ""


@dataclass(frozen=True)
class Timeline:
    """The training record (培训记录): each module's legs, the appraisal, the findings."""

    run_id: int
    hire: str
    position: str
    started: str
    legs: list[Leg]
    scores: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = "pending"
    findings: list[dict[str, Any]] = field(default_factory=list)


def run_timeline(run_id: int, locale: str) -> Timeline:
    """Each module's legs: hand-off requested, due, delivered by whom; assigned, attempts."""
    lang = "en" if locale == "en" else "zh_CN"
    with reading() as session:
        run = repo.get_run(session=session, run_id=run_id)
        handoffs = repo.handoffs_of(session=session, run_id=run_id)
        assignments = repo.assignments_of(session=session, run_id=run_id)
        legs = []
        for m in run.plan["modules"]:
            code = m["code"]
            h, a = handoffs.get(code), assignments.get(code)
            delivery = repo.latest_delivery(session=session, module_code=code)
            scores = [q.score for q in session.scalars(
                select(QuizAttempt).where(QuizAttempt.assignment_id == a.id)
                .order_by(QuizAttempt.attempt_no))] if a else []
            legs.append(Leg(
                module=code, title=m["title"][lang],
                owner=repo.department(session=session, code=m["owner"]).owner.name,
                requested=_day(h.requested_at) if h else "",
                handoff_due=local_day(h.due_at) if h else "",
                delivered=_day(delivery.delivered_at) if delivery else "",
                delivered_by=delivery.delivered_by.name if delivery else "",
                assigned=_day(a.assigned_at) if a else "",
                study_due=local_day(a.due_at) if a else "",
                status=a.status if a else "", scores=scores))
        items = {i["code"]: i["title"][lang] for i in run.plan["position"]["appraisal"]["items"]}
        appraisal = [{"item": items.get(s.item, s.item), "criterion": s.criterion, "score": s.score,
                   "comment": s.comment, "by": s.appraiser_id}
                  for s in session.scalars(select(AppraisalScore).where(
                      AppraisalScore.run_id == run_id).order_by(AppraisalScore.id))]
        verdict = verdict_of(session, run_id)
        return Timeline(run.id, run.hire.name, run.plan["position"]["title"][lang],
                        _day(run.started_at), legs, appraisal, verdict.outcome,
                        [{**f, "item": items.get(f["item"], f["item"])}
                         for f in verdict.findings])
