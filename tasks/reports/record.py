"""What HR and the boss read: every run with who blocks it, one run's legs, a position's RACI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from storage import clock, repo
from storage.models import AppraisalScore, QuizAttempt
from tasks.dates import first_day, spoken_day, spoken_time
from tasks.env import reading
from tasks.i18n import gettext, normalize_locale
from tasks.labels import names
from tasks.learning import Remedial, remedial_progress
from tasks.module_versions import studied_line
from tasks.practice import PracticeView, practice_view_in
from tasks.reports.relay import Blocker, practice_rows, view_run, waiting_for
from tasks.reports.verdict import readable_findings, verdict_of


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
    # The module's practice legs, a line each: coaching sessions and whether the hire
    # confirmed them, hand-ins with their grades.
    practice: list[str] = field(default_factory=list)
    studied: str = ""  # the materials and quiz versions the attempts were on


@dataclass(frozen=True)
class ImportedLeg:
    """A module the old system says the hire completed (`jieli import history`)."""

    title: str
    completed: str
    score: int | None
    source: str  # the file it came from


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
    imported: list[ImportedLeg] = field(default_factory=list)
    remedial: list[Remedial] = field(default_factory=list)


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
                status=n.study_state(a.status) if a else "", scores=scores,
                practice=practice_lines(practice_view_in(session, run, code), locale)
                if m.practice is not None and a is not None else [],
                studied=studied_line(session, a.id, code, locale) if a else ""))
        items = {i.code: i.title.get(lang) for i in run.plan.position.appraisal.items}
        appraisal = [{"item": items.get(s.item, s.item), "criterion": n.criterion(s.criterion),
                      "score": s.score, "comment": s.comment, "by": s.appraiser_id}
                     for s in session.scalars(select(AppraisalScore).where(
                         AppraisalScore.run_id == run_id).order_by(AppraisalScore.id))]
        verdict = verdict_of(session, run_id)
        imported = [ImportedLeg(n.module(t.module_code), spoken_day(t.completed_on, locale),
                                t.score, t.source_file)
                    for t in repo.imported_training(session=session, email=run.hire.email)]
        return Timeline(run.id, run.hire.name, run.plan.position.title.get(lang),
                        first_day(run.start_date, locale, line=True), legs, appraisal,
                        verdict.outcome,
                        readable_findings(verdict.findings, run.plan, locale), imported,
                        remedial_progress(session, run, locale))


def practice_lines(view: PracticeView, locale: str) -> list[str]:
    """One module's practice on the training record: the state of each leg, then every
    coaching session and hand-in with its date, the hire's answer and the grade."""
    def _(s: str) -> str:
        return gettext(locale, s)

    lang = normalize_locale(locale)
    n = names(locale)
    lines = [f"{row.who}: {row.state}" if lang == "en" else f"{row.who}：{row.state}"
             for row in practice_rows(view, clock.now(), locale)]
    for s in view.sessions:
        lines.append(_("coaching %(day)s, %(minutes)s min, «%(topic)s» by %(coach)s: "
                       "%(answer)s") % {"day": spoken_day(s.held_on, locale),
                                        "minutes": s.minutes, "topic": s.topic,
                                        "coach": s.coach, "answer": n.session_answer(s.answer)})
    brief = view.module.practice.assignment if view.module.practice else None
    for h in view.submissions:
        line = _("hand-in #%(number)s %(day)s") % {"number": h.number,
                                                   "day": spoken_time(h.submitted_at, locale)}
        if h.graded_at is not None and brief is not None:
            line += " · " + _("graded %(day)s by %(who)s: %(scores)s") % {
                "day": spoken_day(h.graded_at, locale), "who": h.graded_by,
                "scores": ", ".join(f"{c.title.get(lang)} {h.scores.get(c.code)}"
                                    for c in brief.rubric)}
        lines.append(line)
    return lines
