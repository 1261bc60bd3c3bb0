"""The dashboard HR and the boss read: each department's legs of the relay, each position's
probation pass rate, and where every running hire stands.

The figures are SQL aggregates (GROUP BY), so the page costs a few queries whatever the
number of hires; only the page of running hires shown is read run by run (`view_run`).

What the figures mean (the page says the same in the reader's words):

- A department's **legs** are the gates of runs that waited on it (`gates.waiting_on` is the
  department's code), whatever their kind: hand-offs, appraisals and any kind added later.
  A leg belongs to the period in which it was opened (asked for). Runs cancelled in Prefect
  are left out: nobody is waiting on them.
- Everything is judged as of the **cutoff**: the end of the period's last day, or now when
  that is still to come. A leg is **done** when its gate was closed by then, before the relay
  went on without it: the appraisal ends the legs asked before it (`tasks.attribution`
  closes what is still open then, as fact-finding counts nothing done after the appraisal),
  the run's completion ends the legs asked after it (remedial training). A leg the relay
  ended was never done.
- A leg is **late** when it was done after its due moment, or is still not done past it; it
  stops being late when the relay ended it. **Not done** legs are the late ones still not
  done at the cutoff (or when the relay ended them).
- **Days late**: calendar days from the due day to the day the leg was done (or to the
  cutoff, or to the day the relay ended it), as `tasks.dates.days_overdue` counts them;
  averaged over the late legs.
- **Hires blocked**: the hires with at least one late leg of the department.
- **Blocked working days**: for each hire and due day, the company's working days after the
  due day up to the day the last of that day's legs was done (or the cutoff, or the day the
  relay ended it), as `tasks.dates.working_days_between` counts them; legs of one hire due the
  same day count once (a hire waiting for three hand-offs waits the days once, not thrice).
  (A due day more than a year before the period, which no leg has, would not be counted.)
- **Findings**: the findings of appraisals made in the period that name the department as
  responsible.
- A position's **pass rate**: of its hires appraised in the period, those whose every
  appraisal score reached the pass mark of the run's plan (as `verdict_of`; a column of the
  run since migration 0012).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, joinedload

from storage import clock
from storage.models import (
    AppraisalScore,
    Department,
    Finding,
    Gate,
    Position,
    Run,
    RunStatus,
    UtcDateTime,
)
from storage.settings import get_settings
from tasks.dates import end_of_day, first_day, local_date, spoken_day
from tasks.env import get_catalog, reading
from tasks.i18n import gettext
from tasks.labels import Names, names
from tasks.reports.relay import view_run
from tasks.workdays import Calendar, company_calendar

DEFAULT_PERIOD_DAYS = 90  # the last 90 days, today included, unless the reader chooses
HIRES_PER_PAGE = 10  # each is read run by run (`view_run`)
EPOCH = date(1970, 1, 1)
OTHER_PARTIES = ("hire", "unattributed", "boss")  # findings that name no department
# How long before the period a late leg's due day may lie and its working days still count.
CALENDAR_BEFORE = timedelta(days=366)


@dataclass(frozen=True)
class Filters:
    """What the reader chose: the period (company days, both included), a department, a
    position (codes; None for all), and which page of running hires."""

    start: date
    end: date
    department: str | None = None
    position: str | None = None
    page: int = 1

    @classmethod
    def default(cls, today: date | None = None) -> Filters:
        today = today or local_date(clock.now())
        return cls(start=today - timedelta(days=DEFAULT_PERIOD_DAYS - 1), end=today)


class Legs(NamedTuple):
    """A department's figures from its legs (`_department_legs`)."""

    legs: int
    handoffs: int
    late: int
    not_done: int
    days_late: int
    hires_blocked: int
    blocked_working_days: int


NO_LEGS = Legs(0, 0, 0, 0, 0, 0, 0)


@dataclass(frozen=True)
class DepartmentFigures:
    code: str
    name: str
    legs: int  # legs asked of the department in the period
    handoffs: int  # of which hand-offs of materials
    late: int
    not_done: int  # of the late ones, still not done at the cutoff (or at the run's end)
    days_late: int  # summed over the late legs
    hires_blocked: int
    blocked_working_days: int
    findings: int

    @property
    def other_legs(self) -> int:
        return self.legs - self.handoffs

    @property
    def on_time(self) -> int:
        return self.legs - self.late

    @property
    def late_done(self) -> int:
        return self.late - self.not_done

    @property
    def average_days_late(self) -> float | None:
        return self.days_late / self.late if self.late else None


@dataclass(frozen=True)
class PositionFigures:
    code: str
    name: str
    appraised: int  # hires appraised in the period
    passed: int

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.appraised if self.appraised else None


@dataclass(frozen=True)
class HireProgress:
    """A running hire: how many legs of the relay are done, and who the run waits on."""

    run_id: int
    hire: str
    position: str
    first_day: str
    legs_done: int
    legs_total: int
    waiting_on: str  # who the run waits on, by name: 新员工、市场部
    days_overdue: int  # the most any open leg of the run is overdue

    @property
    def percent(self) -> int:
        return round(100 * self.legs_done / self.legs_total) if self.legs_total else 0


@dataclass(frozen=True)
class Dashboard:
    filters: Filters
    period: str  # 9月1日（周二）至11月29日（周日）
    cutoff: datetime
    departments: list[DepartmentFigures]
    positions: list[PositionFigures]
    hires: list[HireProgress]  # the page of running hires asked for
    hires_total: int
    page: int  # the page shown: the one asked for, or the last one there is
    other_findings: dict[str, int] = field(default_factory=dict)  # party code -> findings

    @property
    def pages(self) -> int:
        return max(1, -(-self.hires_total // HIRES_PER_PAGE))


def dashboard(filters: Filters, locale: str) -> Dashboard:
    """The dashboard for `filters`, names and days in `locale`."""
    now = clock.now()
    cutoff = min(end_of_day(filters.end), now)
    n = names(locale)
    with reading() as session:
        legs = _department_legs(session, filters, cutoff)
        findings = _findings(session, filters)
        codes = list(get_catalog().departments)
        codes += sorted(set(legs) - set(codes))  # a department no longer in the catalog
        if filters.department:
            codes = [filters.department]
        departments = [DepartmentFigures(
            code, n.department(code), **legs.get(code, NO_LEGS)._asdict(),
            findings=findings.get(code, 0))
            for code in codes]
        positions = _pass_rates(session, filters, n)
        hires, total, page = _running_hires(session, filters, now, locale)
    period = gettext(locale, "%(start)s to %(end)s") % {
        "start": spoken_day(filters.start, locale), "end": spoken_day(filters.end, locale)}
    return Dashboard(filters, period, cutoff, departments, positions, hires, total, page,
                     {p: findings[p] for p in OTHER_PARTIES if findings.get(p)})


# --- the SQL -------------------------------------------------------------------------------


def _moment(value: datetime) -> ColumnElement[Any]:
    """A bound timestamp stored the way the columns are (UTC; text on SQLite)."""
    return literal(value, UtcDateTime())


def _day_number(moment: ColumnElement[Any] | InstrumentedAttribute[Any], session: Session,
                cutoff: datetime) -> ColumnElement[int]:
    """The company day a timestamp falls on, as days since 1970-01-01 (`_day_of`).

    PostgreSQL converts in the company's time zone itself. SQLite knows no time zones: the
    zone's offset at the cutoff is added (exact for zones without daylight saving, such as
    China's). Fractions of a second are dropped first: SQLite rounds 23:59:59.999999, a due
    day's last instant, up to the next day.
    """
    zone = get_settings().timezone
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", func.timezone(zone, moment)) / 86400),
                    Integer)
    offset = ZoneInfo(zone).utcoffset(cutoff) or timedelta()
    local = func.date(func.substr(moment, 1, 19), f"{int(offset.total_seconds()):+d} seconds")
    return cast(func.julianday(local) - 2440587.5, Integer)


def _day_of(day: date) -> int:
    return (day - EPOCH).days


def _runs_filter(filters: Filters) -> list[ColumnElement[bool]]:
    """The runs the figures count: not cancelled, of the chosen position."""
    where = [Run.status != RunStatus.CANCELLED]
    if filters.position:
        where.append(Run.position_code == filters.position)
    return where


def _active() -> ColumnElement[bool]:
    """Running runs, written out in the SQL so that SQLite uses the index of active runs (a
    partial index is used only for its own condition, not for a bound parameter)."""
    return Run.status == literal(RunStatus.ACTIVE.value, literal_execute=True)


@lru_cache(maxsize=64)
def _working_days(calendar: Calendar, first: date, last: date) -> str:
    """Rows of SQL VALUES: each day from `first` to `last` (as `_day_of`) with the count of
    working days after `first` up to it. Kept: the holiday calendar is slow to ask."""
    worked, rows = 0, [f"({_day_of(first)}, 0)"]
    for offset in range(1, (last - first).days + 1):
        day = first + timedelta(days=offset)
        worked += calendar.is_working_day(day)
        rows.append(f"({_day_of(day)}, {worked})")
    return ", ".join(rows)


def _department_legs(session: Session, filters: Filters, cutoff: datetime) -> dict[str, Legs]:
    """Per department, in one pass over the legs opened in the period: legs, hand-offs,
    late, not done, days late, hires blocked and the working days they were blocked."""
    start, cut = _moment(end_of_day(filters.start - timedelta(days=1))), _moment(cutoff)
    appraised = (select(AppraisalScore.run_id, func.min(AppraisalScore.submitted_at).label("at"))
                 .group_by(AppraisalScore.run_id).subquery("appraised"))
    # The relay ends a leg still open when it goes on without it: the appraisal ends the legs
    # asked before it (`tasks.attribution` closes them), the run's completion the others.
    before_appraisal = and_(appraised.c.at.is_not(None), Gate.opened_at <= appraised.c.at)
    relay_end = case((before_appraisal, appraised.c.at), else_=Run.completed_at)
    done = and_(Gate.closed_at.is_not(None), Gate.closed_at <= cut, or_(
        and_(before_appraisal, Gate.closed_at <= appraised.c.at),  # the appraisal's own leg too
        and_(~before_appraisal, or_(Run.completed_at.is_(None),
                                    Gate.closed_at < Run.completed_at))))
    # Where a leg's lateness stops: when it was done, when the relay ended it, or the cutoff.
    stop = case((and_(relay_end.is_not(None), relay_end < cut), relay_end), else_=cut)
    end = case((done, Gate.closed_at), else_=stop)
    late = and_(Gate.due_at.is_not(None), Gate.due_at < end)
    # Departments' legs only (not the hire's), picked while the gates are read.
    where = [Gate.opened_at > start, Gate.opened_at <= cut,
             Gate.waiting_on.in_(select(Department.code)), *_runs_filter(filters)]
    if filters.department:
        where.append(Gate.waiting_on == filters.department)
    legs = (select(Gate.run_id, Gate.waiting_on.label("department"), Gate.kind,
                   case((late, 1), else_=0).label("late"),
                   case((and_(late, ~done), 1), else_=0).label("not_done"),
                   # Days are worked out for the late legs only: the costly part on SQLite.
                   case((late, _day_number(Gate.due_at, session, cutoff))).label("due_day"),
                   case((late, _day_number(end, session, cutoff))).label("end_day"))
            .join(Run, Run.id == Gate.run_id)
            .outerjoin(appraised, appraised.c.run_id == Gate.run_id).where(*where)
            .cte("legs").prefix_with("MATERIALIZED"))
    # A hire waits once for the legs of a department due the same day: one row per wait.
    waits = (select(legs.c.department, legs.c.run_id, legs.c.due_day,
                    func.max(legs.c.end_day).label("end_day"), func.count().label("legs"),
                    func.sum(case((legs.c.kind == "handoff", 1), else_=0)).label("handoffs"),
                    func.sum(legs.c.late).label("late"),
                    func.sum(legs.c.not_done).label("not_done"),
                    func.sum(legs.c.end_day - legs.c.due_day).label("days_late"))
             .group_by(legs.c.department, legs.c.run_id, legs.c.due_day).subquery("waits"))
    # The working days of a wait are the difference of two days' counts of working days.
    counts = _working_days(company_calendar(), filters.start - CALENDAR_BEFORE,
                           local_date(cutoff))
    cal = (text(f"SELECT column1 AS day, column2 AS worked FROM (VALUES {counts}) AS counts")
           .columns(day=Integer, worked=Integer).cte("cal"))
    due, ended = cal.alias("due"), cal.alias("ended")
    rows = session.execute(
        select(waits.c.department, func.sum(waits.c.legs), func.sum(waits.c.handoffs),
               func.sum(waits.c.late), func.sum(waits.c.not_done),
               func.sum(waits.c.days_late),
               func.count(func.distinct(case((waits.c.late > 0, waits.c.run_id)))),
               func.sum(ended.c.worked - due.c.worked))
        .outerjoin(due, due.c.day == waits.c.due_day)
        .outerjoin(ended, ended.c.day == waits.c.end_day)
        .group_by(waits.c.department))
    return {row[0]: Legs(*(int(v or 0) for v in row[1:])) for row in rows}


def _findings(session: Session, filters: Filters) -> dict[str, int]:
    """Findings of appraisals made in the period, per party responsible."""
    start = _moment(end_of_day(filters.start - timedelta(days=1)))
    where = [Finding.created_at > start, Finding.created_at <= _moment(end_of_day(filters.end)),
             *_runs_filter(filters)]
    if filters.department:
        where.append(Finding.responsible == filters.department)
    rows = session.execute(select(Finding.responsible, func.count())
                           .join(Run, Run.id == Finding.run_id).where(*where)
                           .group_by(Finding.responsible))
    return {party: int(count) for party, count in rows}


def _pass_rates(session: Session, filters: Filters, n: Names) -> list[PositionFigures]:
    """Per position: the hires appraised in the period, and those who passed."""
    start = _moment(end_of_day(filters.start - timedelta(days=1)))
    lowest = (select(AppraisalScore.run_id, func.min(AppraisalScore.score).label("lowest"))
              .where(AppraisalScore.submitted_at > start,
                     AppraisalScore.submitted_at <= _moment(end_of_day(filters.end)))
              .group_by(AppraisalScore.run_id).subquery("lowest"))
    where = _runs_filter(filters)
    if filters.department:
        where.append(Position.department == filters.department)
    passed = case((lowest.c.lowest >= Run.appraisal_pass_mark, 1), else_=0)
    rows = {code: (int(appraised), int(passed or 0)) for code, appraised, passed in
            session.execute(select(Run.position_code, func.count(), func.sum(passed))
                            .select_from(lowest).join(Run, Run.id == lowest.c.run_id)
                            .join(Position, Position.code == Run.position_code)
                            .where(*where).group_by(Run.position_code))}
    catalog = get_catalog()
    codes = [c for c, p in catalog.positions.items()
             if (not filters.position or c == filters.position)
             and (not filters.department or p.department == filters.department)]
    codes += sorted(set(rows) - set(codes))
    return [PositionFigures(code, n.position(code), *rows.get(code, (0, 0))) for code in codes]


def _running_hires(session: Session, filters: Filters, now: datetime,
                   locale: str) -> tuple[list[HireProgress], int, int]:
    """The page of running hires asked for (or the last one), those waiting longest past a
    due day first; how many there are; the page shown."""
    n = names(locale)
    where = [_active()]
    if filters.position:
        where.append(Run.position_code == filters.position)
    if filters.department:
        where.append(Position.department == filters.department)
    base = select(Run.id).join(Position, Position.code == Run.position_code).where(*where)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    # The open gates of running runs only, found from the runs (an IN list, searched by run).
    first_due = (select(Gate.run_id, func.min(Gate.due_at).label("due"))
                 .where(Gate.run_id.in_(select(Run.id).where(_active())),
                        Gate.closed_at.is_(None))
                 .group_by(Gate.run_id).subquery("first_due"))
    overdue = case((first_due.c.due < _moment(now), 0), else_=1)
    page = max(1, min(filters.page, -(-total // HIRES_PER_PAGE)))
    ids = list(session.scalars(
        base.outerjoin(first_due, first_due.c.run_id == Run.id)
        .order_by(overdue, first_due.c.due.asc().nulls_last(), Run.start_date, Run.id)
        .limit(HIRES_PER_PAGE).offset((page - 1) * HIRES_PER_PAGE)))
    runs = {r.id: r for r in session.scalars(
        select(Run).options(joinedload(Run.hire)).where(Run.id.in_(ids)))}
    hires = []
    for run_id in ids:
        run = runs[run_id]
        view = view_run(session=session, run=run, now=now, locale=locale)
        hires.append(HireProgress(
            run.id, run.hire.name, n.position(run.position_code),
            first_day(run.start_date, locale), view.legs_done, view.legs_total,
            n.join(n.party(w) for w in view.waiting_on),
            max((b.days_overdue for b in view.blockers), default=0)))
    return hires, total, page
