"""One employee's report (员工报告): training, appraisal, work results, rewards and penalties.

An employee is a Jieli hire (a `Person` with onboarding runs), an employee imported from the
old system (`ImportedEmployee`, keyed by 工号), or both: an imported employee and a hire with
the same address are the same person, so the report asked for by address and the one asked for
by 工号 are the same. (Two imported employees sharing an address are taken as one person, as
`repo.imported_training` does.)

The report is read with a fixed dozen queries, however long the history: each part is one
query over the employee's rows (imported employees, runs with their hire, assignments, quiz
attempts, deliveries, coaching, hand-ins, appraisal scores, findings, imported training,
metrics, rewards), then put together in Python; the verdicts of all runs at once
(`tasks.reports.verdict.verdicts_of`). benchmarks/reports.py times it.

What is not there yet, on purpose:
- Material versions do not exist yet (a later issue brings them): the day the materials the
  hire trained on were handed off (the last hand-off before the module was finished) stands
  for the version.
- Study hours are not tracked, so the report has no study hours rather than invented figures;
  the hours it shows are coaching hours, from the sessions the hire confirmed (practice legs).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select, union_all
from sqlalchemy.orm import Session, contains_eager

from storage import clock, repo
from storage.models import (
    AppraisalScore,
    Assignment,
    CoachingSession,
    Delivery,
    ImportedEmployee,
    ImportedMetric,
    ImportedReward,
    Person,
    QuizAttempt,
    Run,
    SessionAnswer,
    Submission,
)
from tasks.dates import local_date
from tasks.env import get_catalog, reading
from tasks.i18n import N_, gettext
from tasks.labels import Names, names
from tasks.reports.verdict import (
    OUTCOMES,
    findings_of,
    readable_findings,
    split_criteria,
    verdict_from,
)

NOT_ASSIGNED = N_("Not assigned yet")
IMPORTED_DONE = N_("Completed (imported)")
REWARD_KINDS = {"reward": N_("Reward"), "penalty": N_("Penalty")}
PER_PAGE = 50  # employees on one page of the list

# The report's statements, built once; a report only binds its values, and those reading
# columns only run on the session's connection, past the ORM. (Built anew and run through the
# ORM they were half of a report's few milliseconds, which benchmarks/reports.py holds to
# twice the time of the same numbers' hand-written SQL.)
_IMPORTED = (select(ImportedEmployee).where(ImportedEmployee.email == func.coalesce(
    select(ImportedEmployee.email).where(ImportedEmployee.employee_id == bindparam("key"))
    .scalar_subquery(), bindparam("given"))).order_by(ImportedEmployee.employee_id))
_RUNS = (select(Run).join(Person, Person.id == Run.hire_id).options(contains_eager(Run.hire))
         .where(Person.email == bindparam("email")).order_by(Run.started_at, Run.id))
_ASSIGNMENTS = (select(Assignment.id, Assignment.run_id, Assignment.module_code,
                       Assignment.status, Assignment.assigned_at, Assignment.due_at,
                       Assignment.completed_at)
                .where(Assignment.run_id.in_(bindparam("runs", expanding=True)))
                .order_by(Assignment.assigned_at, Assignment.id))
_QUIZ_SCORES = (select(QuizAttempt.assignment_id, QuizAttempt.score)
                .where(QuizAttempt.assignment_id.in_(bindparam("assignments", expanding=True)))
                .order_by(QuizAttempt.assignment_id, QuizAttempt.attempt_no))
_HANDED = (select(Delivery.module_code, Delivery.delivered_at)
           .where(Delivery.module_code.in_(bindparam("codes", expanding=True))))
_COACHED = (select(CoachingSession.run_id, CoachingSession.module_code, CoachingSession.minutes)
            .where(CoachingSession.run_id.in_(bindparam("runs", expanding=True)),
                   CoachingSession.answer == SessionAnswer.CONFIRMED))
_GRADED = (select(Submission.run_id, Submission.module_code, Submission.scores)
           .where(Submission.run_id.in_(bindparam("runs", expanding=True)),
                  Submission.graded_at.is_not(None))
           .order_by(Submission.number))
_APPRAISED = (select(AppraisalScore, Person.name)
              .join(Person, Person.id == AppraisalScore.appraiser_id)
              .where(AppraisalScore.run_id.in_(bindparam("runs", expanding=True)))
              .order_by(AppraisalScore.id))
_METRICS = (select(ImportedMetric.month, ImportedMetric.metric, ImportedMetric.value,
                   ImportedMetric.source_file)
            .where(ImportedMetric.employee_id.in_(bindparam("ids", expanding=True)))
            .order_by(ImportedMetric.month, ImportedMetric.id))
_REWARDS = (select(ImportedReward)
            .where(ImportedReward.employee_id.in_(bindparam("ids", expanding=True)))
            .order_by(ImportedReward.happened_on, ImportedReward.id))


@dataclass(frozen=True)
class Identity:
    """Who the report is about."""

    key: str  # how the pages' URLs name the employee: their 工号 if any, else their address
    name: str
    email: str
    employee_ids: tuple[str, ...]  # 工号 in the old system
    department: str
    position: str
    first_day: date | None  # hired on (old system), else the first Jieli run's first day


@dataclass(frozen=True)
class Study:
    """One module the employee trained in: a Jieli run's, or the old system's (imported)."""

    module: str
    imported: bool
    source: str  # imported: the file it came from; "" for Jieli's own
    version: date | None  # when the materials trained on were handed off (no versions yet)
    assigned: date | None
    due: date | None
    completed: date | None
    scores: tuple[int, ...]  # each quiz attempt's score, first to last (imported: its score)
    pass_mark: int | None
    state: str
    # Practice legs (Jieli only): hours of coaching the hire confirmed (None when the module
    # has no coaching and got none), and the latest graded hand-in's score per rubric item.
    coaching_hours: float | None = None
    hand_in: tuple[tuple[str, int], ...] = ()

    @property
    def attempts(self) -> int | None:
        """Quiz attempts taken; None when not assigned yet, or imported (the old system kept
        one score)."""
        return None if self.imported or self.assigned is None else len(self.scores)

    @property
    def best(self) -> int | None:
        return max(self.scores) if self.scores else None


@dataclass(frozen=True)
class AppraisalLine:
    item: str
    criterion: str
    score: int
    passed: bool  # the pass mark itself passes
    comment: str


@dataclass(frozen=True)
class FindingLine:
    """Why an appraisal item failed, as the reader reads it (`readable_findings`)."""

    item: str
    cause: str
    responsible: str
    evidence: tuple[str, ...]
    remedial: str


@dataclass(frozen=True)
class Appraisal:
    """One run's probation appraisal: its scores, the verdict, the findings."""

    run_id: int
    position: str
    first_day: date
    outcome: str  # passed | failed | pending: the page decides on the code
    verdict: str
    appraised: date | None
    appraiser: str
    pass_mark: int
    lines: tuple[AppraisalLine, ...]
    findings: tuple[FindingLine, ...]


@dataclass(frozen=True)
class MonthFigures:
    month: date  # its first day
    values: tuple[float | None, ...]  # one per metric of `WorkResults.metrics`


@dataclass(frozen=True)
class WorkResults:
    """The old system's monthly figures, month by metric, oldest month first."""

    metrics: tuple[str, ...]
    months: tuple[MonthFigures, ...]
    sources: tuple[str, ...]  # the files they were imported from


@dataclass(frozen=True)
class RewardLine:
    day: date
    kind: str  # reward | penalty
    kind_name: str
    note: str
    source: str  # the file it was imported from


@dataclass(frozen=True)
class EmployeeReport:
    locale: str
    identity: Identity
    training: tuple[Study, ...]
    appraisals: tuple[Appraisal, ...]
    work: WorkResults
    rewards: tuple[RewardLine, ...]

    def count(self, kind: str) -> int:
        """How many rewards (`reward`) or penalties (`penalty`) the employee had."""
        return sum(r.kind == kind for r in self.rewards)


@dataclass(frozen=True)
class _Who:
    email: str
    runs: list[Run]
    imported: list[ImportedEmployee]


def _identify(session: Session, key: str) -> _Who:
    """The employee named by 工号 or address; LookupError when nobody is. Two queries: the
    imported employees sharing the address of the 工号 (or the address given), and the runs
    of the hire with that address (by the index of runs by hire), each with its hire."""
    key = key.strip()
    given = key.lower() if "@" in key else None
    imported = list(session.scalars(_IMPORTED, {"key": key, "given": given})) if key else []
    email = imported[0].email if imported else given or ""
    runs = list(session.scalars(_RUNS, {"email": email})) if email else []
    if not imported and not runs:  # a catalog's owner or manager is nobody's employee here
        raise LookupError(f"no employee {key!r}")
    return _Who(email, runs, imported)


def employee_report(key: str, locale: str) -> EmployeeReport:
    """The report on the employee with this 工号 or address, in `locale`; LookupError when
    there is no such employee."""
    n = names(locale)
    with reading() as session:
        who = _identify(session, key)
        ids = [e.employee_id for e in who.imported]
        training = _runs_training(session, who.runs, n) + [
            Study(n.module(t.module_code), True, t.source_file, None, None, None,
                  t.completed_on, (t.score,) if t.score is not None else (), None,
                  gettext(n.lang, IMPORTED_DONE))
            for t in repo.imported_training(session=session, email=who.email)]
        return EmployeeReport(
            n.lang, _identity(who, n), tuple(training), tuple(_appraisals(session, who.runs, n)),
            _work_results(session, ids), tuple(_rewards(session, ids, n)))


def _identity(who: _Who, n: Names) -> Identity:
    """Name, department and position as Jieli's latest run has them (the current word), else
    as the old system had them; the first day the old system's hiring day, else the first
    run's."""
    ids = tuple(e.employee_id for e in who.imported)
    first = who.imported[0] if who.imported else None
    latest = who.runs[-1] if who.runs else None
    if latest is not None:
        name, position = latest.hire.name, latest.plan.position.title.get(n.lang)
        department = n.department(latest.plan.position.department)
    elif first is not None:
        name, position = first.name, n.position(first.position)
        department = n.department(first.department)
    else:
        raise LookupError(f"no employee {who.email!r}")  # _identify found one or the other
    return Identity(key=ids[0] if ids else who.email, name=name, email=who.email,
                    employee_ids=ids, department=department, position=position,
                    first_day=first.hired_on if first else who.runs[0].start_date)


def _runs_training(session: Session, runs: list[Run], n: Names) -> list[Study]:
    """Each run's modules (its plan's, then remedial ones) with dates, attempts and state."""
    if not runs:
        return []
    now = clock.now()
    catalog = get_catalog()
    run_ids = [r.id for r in runs]
    assignments = session.connection().execute(_ASSIGNMENTS, {"runs": run_ids}).all()
    scores: dict[int, list[int]] = defaultdict(list)
    if assignments:
        for assignment_id, score in session.connection().execute(
                _QUIZ_SCORES, {"assignments": [a.id for a in assignments]}):
            scores[assignment_id].append(score)
    codes = {m.code for r in runs for m in r.plan.modules} | {a.module_code for a in assignments}
    handed: dict[str, list[datetime]] = defaultdict(list)
    for code, at in session.connection().execute(_HANDED, {"codes": sorted(codes)}):
        handed[code].append(at)
    coached: dict[tuple[int, str], int] = defaultdict(int)  # confirmed minutes
    for run_id, code, held in session.connection().execute(_COACHED, {"runs": run_ids}):
        coached[(run_id, code)] += held
    graded: dict[tuple[int, str], dict[str, Any]] = {}  # the latest graded hand-in's scores
    for run_id, code, given in session.connection().execute(_GRADED, {"runs": run_ids}):
        graded[(run_id, code)] = given or {}
    studies = []
    for run in runs:
        planned = {m.code: m for m in run.plan.modules}
        given = {a.module_code: a for a in assignments if a.run_id == run.id}
        for code in [*planned, *(c for c in given if c not in planned)]:
            module, a = planned.get(code), given.get(code)
            title = module.title.get(n.lang) if module else n.module(code)
            pass_mark = module.pass_mark if module else \
                catalog.modules[code].quiz.pass_mark if code in catalog.modules else None
            if a is None:
                studies.append(Study(title, False, "", None, None, None, None, (), pass_mark,
                                     gettext(n.lang, NOT_ASSIGNED)))
                continue
            # The version the hire trained on: the last hand-off before they finished.
            until = a.completed_at or now
            version = max((at for at in handed[code] if at <= until), default=None)
            practice = (module.practice if module else None) or (
                catalog.modules[code].practice if code in catalog.modules else None)
            minutes = coached.get((run.id, code))
            if minutes is None and practice is not None and practice.coaching is not None:
                minutes = 0  # coaching owed, none confirmed
            rubric = practice.assignment.rubric if practice and practice.assignment else []
            grade = graded.get((run.id, code), {})
            studies.append(Study(
                title, False, "", local_date(version) if version else None,
                local_date(a.assigned_at), local_date(a.due_at),
                local_date(a.completed_at) if a.completed_at else None, tuple(scores[a.id]),
                pass_mark, n.study_state(a.status),
                round(minutes / 60, 1) if minutes is not None else None,
                tuple((c.title.get(n.lang), int(grade[c.code])) for c in rubric
                      if grade.get(c.code) is not None)))
    return studies


def _appraisals(session: Session, runs: list[Run], n: Names) -> list[Appraisal]:
    if not runs:
        return []
    run_ids = [r.id for r in runs]
    scored: dict[int, list[tuple[AppraisalScore, str]]] = defaultdict(list)
    for score, appraiser in session.execute(_APPRAISED, {"runs": run_ids}).tuples():
        scored[score.run_id].append((score, appraiser))
    findings = findings_of(session, run_ids)
    appraisals = []
    for run in runs:
        rows = scored[run.id]
        position = run.plan.position
        pass_mark = position.appraisal.pass_mark
        items = {i.code: i.title.get(n.lang) for i in position.appraisal.items}
        failed = split_criteria({f"{s.item}.{s.criterion}": s.score for s, _ in rows},
                                pass_mark)[0]
        verdict = verdict_from({f"{s.item}.{s.criterion}": s.score for s, _ in rows},
                               pass_mark, findings[run.id])
        appraisals.append(Appraisal(
            run_id=run.id, position=position.title.get(n.lang), first_day=run.start_date,
            outcome=verdict.outcome, verdict=gettext(n.lang, OUTCOMES[verdict.outcome]),
            appraised=local_date(max(s.submitted_at for s, _ in rows)) if rows else None,
            appraiser=n.join(sorted({who for _, who in rows})), pass_mark=pass_mark,
            lines=tuple(AppraisalLine(items.get(s.item, s.item), n.criterion(s.criterion),
                                      s.score, f"{s.item}.{s.criterion}" not in failed,
                                      s.comment) for s, _ in rows),
            findings=tuple(FindingLine(f["item"], f["cause"], f["responsible"],
                                       tuple(f["evidence"]), f["remedial"])
                           for f in readable_findings(verdict.findings, run.plan, n.lang))))
    return appraisals


def _work_results(session: Session, ids: list[str]) -> WorkResults:
    """Month by metric; a metric's place is where it first appears. (Two imported employees
    merged by their shared address with a figure in the same month: the later row shows.)"""
    metrics: dict[str, int] = {}
    months: dict[str, dict[str, float]] = {}
    sources: dict[str, None] = {}
    if ids:
        for month, metric, value, source in session.connection().execute(_METRICS, {"ids": ids}):
            metrics.setdefault(metric, len(metrics))
            months.setdefault(month, {})[metric] = value
            sources[source] = None
    return WorkResults(
        tuple(metrics),
        tuple(MonthFigures(date(int(m[:4]), int(m[5:7]), 1),
                           tuple(figures.get(metric) for metric in metrics))
              for m, figures in months.items()),
        tuple(sources))


def _rewards(session: Session, ids: list[str], n: Names) -> list[RewardLine]:
    if not ids:
        return []
    return [RewardLine(r.happened_on, r.kind,
                       gettext(n.lang, REWARD_KINDS[r.kind]) if r.kind in REWARD_KINDS
                       else r.kind, r.note, r.source_file)
            for r in session.scalars(_REWARDS, {"ids": ids})]


# --- the list of employees ------------------------------------------------------------------


@dataclass(frozen=True)
class EmployeeEntry:
    """One employee in the list: hire, imported employee, or both (one address)."""

    key: str
    name: str
    email: str
    employee_ids: tuple[str, ...]
    position: str
    first_day: date | None
    onboarded: bool  # has a Jieli onboarding run
    imported: bool  # came from the old system


@dataclass(frozen=True)
class EmployeeList:
    query: str
    entries: list[EmployeeEntry]
    total: int
    page: int
    pages: int


def report_key(email: str) -> str:
    """The key the pages name the employee with this address by (its 工号 if imported)."""
    with reading() as session:
        found = session.scalar(select(func.min(ImportedEmployee.employee_id))
                               .where(ImportedEmployee.email == email.strip().lower()))
    return found or email.strip().lower()


def find_employees(query: str, page: int, locale: str, per_page: int = PER_PAGE) -> EmployeeList:
    """Hires and imported employees whose name, 工号 or address holds `query` (every one when
    it is empty), one entry per address, by name; page `page` (from 1) of them."""
    n = names(locale)
    words = query.strip()
    imported = select(ImportedEmployee.email.label("email"),
                      ImportedEmployee.name.label("name"))
    hires = select(Person.email.label("email"), Person.name.label("name")) \
        .where(Person.id.in_(select(Run.hire_id)))
    if words:
        imported = imported.where(or_(*(c.icontains(words, autoescape=True) for c in (
            ImportedEmployee.name, ImportedEmployee.employee_id, ImportedEmployee.email))))
        hires = hires.where(or_(*(c.icontains(words, autoescape=True)
                                  for c in (Person.name, Person.email))))
    both = union_all(imported, hires).subquery()
    grouped = select(both.c.email, func.min(both.c.name).label("name")).group_by(both.c.email)
    with reading() as session:
        total = session.scalar(select(func.count()).select_from(grouped.subquery())) or 0
        pages = max(1, -(-total // per_page))
        page = min(max(page, 1), pages)
        emails = list(session.scalars(
            select(both.c.email).group_by(both.c.email)
            .order_by(func.min(both.c.name), both.c.email)
            .limit(per_page).offset((page - 1) * per_page)))
        old: dict[str, list[ImportedEmployee]] = defaultdict(list)
        for e in session.scalars(select(ImportedEmployee).where(ImportedEmployee.email.in_(
                emails)).order_by(ImportedEmployee.employee_id)):
            old[e.email].append(e)
        # The latest run of each hire: its position and first day, read without its plan.
        latest: dict[str, tuple[str, str, date]] = {}
        for email, name, position, start in session.execute(
                select(Person.email, Person.name, Run.position_code, Run.start_date)
                .join(Person, Person.id == Run.hire_id)
                .where(Person.email.in_(emails)).order_by(Run.started_at, Run.id)).tuples():
            latest[email] = (name, position, start)
        entries = []
        for email in emails:
            first = old[email][0] if old[email] else None
            run = latest.get(email)
            entries.append(EmployeeEntry(
                key=first.employee_id if first else email,
                name=run[0] if run else first.name if first else email,
                email=email, employee_ids=tuple(e.employee_id for e in old[email]),
                position=n.position(run[1]) if run else n.position(first.position) if first
                else "",
                first_day=first.hired_on if first else run[2] if run else None,
                onboarded=run is not None, imported=first is not None))
    return EmployeeList(words, entries, total, page, pages)
