"""How long do the reports take on a company's two years, against hand-written SQL?

Fills storage with one data set for all three reports (benchmarks/_data.py: N employees,
default 10,000; their training history, 24 months of two metrics and their rewards through
the project's own import, `tasks.importing.import_file` as `jieli import` calls it; the runs,
assignments and quiz attempts that only Jieli's relay writes inserted in bulk: 1.2 runs, 10.8
assignments and about 22 quiz attempts per employee). Then, on the same storage and in the
same process, each report against a hand-written SQL query giving the same numbers:

- the dashboard (`tasks.reports.dashboard.dashboard`) for the two years, the last year and
  the default last 90 days: each department's legs (legs, hand-offs, late, not done, days
  late, hires blocked, working days blocked) and findings, each position's appraised and
  passed, and the first page of running hires (how many, which in which order, their legs
  done and owed, whom they wait on, days overdue);
- one employee's report (`tasks.reports.employee.employee_report`), for a sample of
  employees: their Jieli training (dates, the materials' hand-off day, every quiz score,
  coaching hours, graded hand-ins), imported training, appraisal scores, verdicts and
  findings, monthly figures and rewards;
- the effectiveness report (`tasks.reports.effectiveness.effectiveness`) of `_data.MODULE`
  on `_data.METRIC`: group sizes, means, lift, before and after (the hand-written figure is
  the faster of two forms of the query, one SQLite's best, the other PostgreSQL's).

Each pair is checked to give the same numbers first (the run stops, exit 1, naming what
differs), then timed `--repeat` times, the report and its SQL in turn; the medians of wall
time and of this process's CPU time are printed (SQLite works inside this process, so its
CPU time is the steadier figure on a shared machine; PostgreSQL's work is in its server),
with the ratio report / SQL. A few figures without a hand-written counterpart follow (the
dashboard's charts, the employee report's XLSX and CSV, the employee list). The last line is
one JSON object: employees, dashboard_s (the two years), record_s, effectiveness_s,
dashboard_ratio, record_ratio, effectiveness_ratio (wall time), then more.

    .venv/bin/python benchmarks/reports.py --employees 10000
    .venv/bin/python benchmarks/reports.py --keep /tmp/jieli-reports   # filled once, reused
    .venv/bin/python benchmarks/reports.py --keep /tmp/pg-files \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/mine

A PostgreSQL database must be empty or hold this benchmark's data for the same --employees
(left by --keep); without --keep its tables are dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: _data beside it

import _data  # noqa: E402

TARGET_S, TARGET_RATIO = 0.5, 2.0
SAMPLE = 10  # employees whose report is timed


def timer(call: Callable[[], Any]) -> tuple[float, float]:
    began, began_cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - began, time.process_time() - began_cpu


class Pair:
    """A report and its hand-written SQL, timed in turn."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.times: dict[str, list[tuple[float, float]]] = {"report": [], "sql": []}

    def run(self, report: Callable[[], Any], sql: Callable[[], Any]) -> None:
        self.times["report"].append(timer(report))
        self.times["sql"].append(timer(sql))

    def median(self, side: str, cpu: bool = False) -> float:
        return statistics.median(t[cpu] for t in self.times[side])

    def best(self, side: str) -> float:
        """The shortest wall time: the nearest to an idle machine's."""
        return min(t[0] for t in self.times[side])

    def ratio(self, cpu: bool = False) -> float:
        return self.median("report", cpu) / max(self.median("sql", cpu), 1e-9)


def same(what: str, report: Any, sql: Any) -> None:
    """Fail loudly when the report and the hand-written SQL disagree."""
    if report != sql:
        print(f"\nDIFFERENT NUMBERS: {what}\n  report:           {report}\n"
              f"  hand-written SQL: {sql}", file=sys.stderr)
        raise SystemExit(1)


# --- the dashboard ---------------------------------------------------------------------------


def working_days(start: datetime, cutoff: datetime) -> str:
    """SQL VALUES rows: day number, working days counted up to it (made once per period,
    as the dashboard keeps its own)."""
    from tasks.workdays import company_calendar

    calendar = company_calendar()
    epoch = date(1970, 1, 1)
    lo = (start.date() - timedelta(days=400) - epoch).days
    hi = (cutoff.date() + timedelta(days=1) - epoch).days
    worked, counts = 0, []
    for n in range(lo, hi + 1):
        worked += n > lo and calendar.is_working_day(epoch + timedelta(days=n))
        counts.append(f"({n}, {worked})")
    return ", ".join(counts)


def dashboard_sql(session: Any, start: datetime, end: datetime, cutoff: datetime, zone: str,
                  calendar: str, now: datetime) -> tuple[Any, ...]:
    """The dashboard's figures in SQL written by hand (SQLite or PostgreSQL): the period
    after `start` up to `end`, judged as of `cutoff` (`end`, or now if that is earlier), and
    the first page of running hires as of `now`."""
    from sqlalchemy import Integer, String, bindparam, text

    from storage.models import UtcDateTime
    from tasks.reports.dashboard import HIRES_PER_PAGE

    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        day = "floor(extract(epoch from timezone(:zone, {0})) / 86400)::int"
    else:
        day = ("cast(julianday(date(substr({0}, 1, 19), '+28800 seconds')) - 2440587.5 "
               "as integer)")
    # The appraisal ends the legs asked before it, the run's completion the others.
    before = "(a.at is not null and g.opened_at <= a.at)"
    ended = f"case when {before} then a.at else r.completed_at end"
    done = (f"(g.closed_at is not null and g.closed_at <= :cutoff and (({before} and "
            f"g.closed_at <= a.at) or (not {before} and (r.completed_at is null or "
            "g.closed_at < r.completed_at))))")
    stop = (f"case when {done} then g.closed_at when {ended} < :cutoff then {ended} "
            "else :cutoff end")
    legs = f"""
        select g.run_id, g.waiting_on dept, g.kind,
               case when g.due_at < {stop} then 1 else 0 end late,
               case when g.due_at < {stop} and not {done} then 1 else 0 end not_done,
               -- days for the late legs only: the costly part on SQLite
               case when g.due_at < {stop} then {day.format('g.due_at')} end due_day,
               case when g.due_at < {stop} then {day.format(stop)} end end_day
        from gates g join runs r on r.id = g.run_id
        left join (select run_id, min(submitted_at) at from appraisal_scores
                   group by run_id) a on a.run_id = g.run_id
        where g.opened_at > :start and g.opened_at <= :cutoff and r.status != 'cancelled'
          and g.waiting_on in (select code from departments)"""
    params: dict[str, Any] = {"start": start, "end": end, "cutoff": cutoff, "zone": zone}
    if dialect != "postgresql":  # SQLite compares the stored text: UTC, with microseconds
        params = {name: params[name].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                  for name in ("start", "end", "cutoff")}
    # The legs are worked out once; then per department, and the working days of each wait
    # (a hire's late legs of a department due the same day wait once).
    departments = session.execute(text(f"""
        with legs as materialized ({legs}),
        cal(day, worked) as (values {calendar}),
        waits as (select dept, run_id, due_day, max(end_day) end_day from legs
                  where late = 1 group by dept, run_id, due_day)
        select l.dept, l.legs, l.handoffs, l.late, l.not_done, l.days_late, l.hires,
               coalesce(b.days, 0)
        from (select dept, count(*) legs, sum(case when kind = 'handoff' then 1 else 0 end)
                     handoffs, sum(late) late, sum(not_done) not_done,
                     sum(case when late = 1 then end_day - due_day else 0 end) days_late,
                     count(distinct case when late = 1 then run_id end) hires
              from legs group by dept) l
        left join (select w.dept, sum(e.worked - d.worked) days from waits w
                   join cal d on d.day = w.due_day join cal e on e.day = w.end_day
                   group by w.dept) b on b.dept = l.dept"""), params).all()
    findings = session.execute(text("""
        select f.responsible, count(*) from findings f join runs r on r.id = f.run_id
        where f.created_at > :start and f.created_at <= :end and r.status != 'cancelled'
        group by f.responsible"""), params).all()
    rates = session.execute(text("""
        select r.position_code, count(*),
               sum(case when s.lowest >= r.appraisal_pass_mark then 1 else 0 end)
        from (select run_id, min(score) lowest from appraisal_scores
              where submitted_at > :start and submitted_at <= :end group by run_id) s
        join runs r on r.id = s.run_id where r.status != 'cancelled'
        group by r.position_code"""),
        params).all()
    # The plan's modules, and how many practice legs (coaching, assignment) each has; the
    # data set has no practice records, so none of those legs is done.
    if dialect == "postgresql":
        select_modules = (
            "select r.id run_id, m ->> 'code' code, "
            "(json_typeof(m -> 'practice' -> 'coaching') = 'object')::int "
            "+ (json_typeof(m -> 'practice' -> 'assignment') = 'object')::int practice "
            "from runs r, json_array_elements(r.plan -> 'modules') m")
    else:
        select_modules = (
            "select r.id run_id, json_extract(m.value, '$.code') code, "
            "(json_extract(m.value, '$.practice.coaching') is not null) "
            "+ (json_extract(m.value, '$.practice.assignment') is not null) practice "
            "from runs r, json_each(r.plan, '$.modules') m")
    # The page of running hires: those waiting longest past a due day first.
    page = session.execute(text(f"""
        with first_due as (select g.run_id, min(g.due_at) due from gates g
                           where g.closed_at is null and g.run_id in (
                               select id from runs where status = 'active')
                           group by g.run_id)
        select r.id, count(*) over () total, f.due, p.name, r.position_code, r.start_date
        from runs r join people p on p.id = r.hire_id
        left join first_due f on f.run_id = r.id where r.status = 'active'
        order by case when f.due < :now then 0 else 1 end, f.due asc nulls last,
                 r.start_date, r.id
        limit {HIRES_PER_PAGE}""").columns(due=UtcDateTime()),
        {"now": now if dialect == "postgresql"
         else now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")}).all()
    shown = {"runs": [row[0] for row in page] or [0]}
    progress = session.execute(text(f"""
        select pm.run_id, count(*) * 2 + sum(coalesce(pm.practice, 0)),
               sum((select count(*) from (select 1 from deliveries d
                    where d.module_code = pm.code limit 1) x)
                   + (select count(*) from assignments a where a.run_id = pm.run_id
                      and a.module_code = pm.code and a.status != 'assigned'))
        from ({select_modules} where r.id in :runs) pm group by pm.run_id""")
        .bindparams(bindparam("runs", expanding=True)), shown).all()
    waiting = session.execute(text("""
        select run_id, waiting_on from gates where closed_at is null and run_id in :runs""")
        .bindparams(bindparam("runs", expanding=True))
        .columns(run_id=Integer(), waiting_on=String()), shown).all()
    return departments, findings, rates, page, progress, waiting


def dashboard_by_hand(*args: Any) -> tuple[Any, ...]:
    from storage import clock
    from storage.settings import get_settings
    from tasks.env import reading

    start, end, cutoff, calendar = args
    with reading() as session:
        return dashboard_sql(session, start, end, cutoff, get_settings().timezone, calendar,
                             clock.now())


def dashboard_pairs(today: date,
                    repeat: int) -> tuple[list[Pair], dict[str, tuple[str, float]]]:
    from forms.dashboard import _charts
    from storage import clock
    from tasks.dates import days_overdue, end_of_day
    from tasks.labels import names
    from tasks.reports.dashboard import Filters, dashboard

    n = names("zh_CN")

    pairs: list[Pair] = []
    more: dict[str, tuple[str, float]] = {}
    for days, label in ((730, "two years"), (365, "last year"), (90, "last 90 days")):
        filters = Filters(today - timedelta(days=days - 1), today)
        board = dashboard(filters, "zh_CN")
        start = end_of_day(filters.start - timedelta(days=1))
        cutoff = min(end_of_day(filters.end), clock.now())
        calendar = working_days(start, cutoff)

        by_hand = partial(dashboard_by_hand, start, end_of_day(filters.end), cutoff, calendar)

        figures = by_hand()
        same(f"dashboard, {label}: departments",
             {d.code: (d.legs, d.handoffs, d.late, d.not_done, d.days_late, d.hires_blocked,
                       d.blocked_working_days) for d in board.departments if d.legs},
             {row[0]: tuple(int(v) for v in row[1:]) for row in figures[0]})
        same(f"dashboard, {label}: findings",
             {d.code: d.findings for d in board.departments if d.findings}
             | board.other_findings, {r[0]: int(r[1]) for r in figures[1]})
        same(f"dashboard, {label}: positions",
             sorted((p.code, p.appraised, p.passed) for p in board.positions if p.appraised),
             sorted((r[0], int(r[1]), int(r[2])) for r in figures[2]))
        now = clock.now()
        legs = {int(r[0]): (int(r[1]), int(r[2])) for r in figures[4]}
        waiting: dict[int, set[str]] = defaultdict(set)
        for run_id, party in figures[5]:
            waiting[run_id].add(party)
        same(f"dashboard, {label}: running hires, the first page",
             (board.hires_total, [(h.run_id, h.hire, h.legs_total, h.legs_done, h.waiting_on,
                                   h.days_overdue) for h in board.hires]),
             (figures[3][0][1] if figures[3] else 0,
              [(r[0], r[3], *legs[r[0]], n.join(n.party(w) for w in sorted(waiting[r[0]])),
                days_overdue(r[2], now)) for r in figures[3]]))
        if not any(d.late for d in board.departments) or not board.hires:
            raise SystemExit(f"dashboard, {label}: nothing late or nobody running: the data "
                             "set does not exercise it")
        pair = Pair(f"dashboard, {label}")
        for _ in range(repeat):
            pair.run(partial(dashboard, filters, "zh_CN"), by_hand)
        pairs.append(pair)
        if days == 730:
            more["dashboard_charts_s"] = ("dashboard's charts, two years", statistics.median(
                timer(partial(_charts, board, "zh_CN"))[0] for _ in range(repeat)))
    return pairs, more


# --- one employee's report --------------------------------------------------------------------


def record_sql(session: Any, key: str) -> dict[str, list[Any]]:
    """One employee's report in SQL written by hand: their runs first (by the index of runs by
    hire), then a query per part, rows as they come."""
    from sqlalchemy import Date, Float, Integer, String, bindparam, text

    from storage.models import UtcDateTime

    # The employee's other 工号 (an address shared in the old system), and their runs.
    same_person = "e.email = (select email from imported_employees where employee_id = :key)"
    bound = {"key": key}
    runs = session.execute(text(f"""
        select r.id, r.appraisal_pass_mark from runs r where r.hire_id = (select p.id from people p
        where {same_person.replace('e.email', 'p.email')})"""), bound).all()
    ids = {"runs": [r[0] for r in runs]}

    def of_runs(query: str, **types: Any) -> list[Any]:
        if not ids["runs"]:
            return []
        return session.execute(text(query).bindparams(bindparam("runs", expanding=True))
                               .columns(**types), {**ids, "now": datetime.now(UTC)}).all()

    return {
        "identity": session.execute(text(f"""
            select e.employee_id, e.name, e.hired_on from imported_employees e
            where {same_person} order by e.employee_id""").columns(hired_on=Date()),
            bound).all(),
        "runs": runs,
        "training": of_runs("""
            select a.id, a.assigned_at, a.due_at, a.completed_at, a.status,
                   (select max(d.delivered_at) from deliveries d
                    where d.module_code = a.module_code
                      and d.delivered_at <= coalesce(a.completed_at, :now)) as version,
                   q.score
            from assignments a left join quiz_attempts q on q.assignment_id = a.id
            where a.run_id in :runs order by a.assigned_at, a.id, q.attempt_no""",
                            assigned_at=UtcDateTime(), due_at=UtcDateTime(),
                            completed_at=UtcDateTime(), version=UtcDateTime(), score=Integer()),
        "appraisal": of_runs("""
            select s.run_id, s.score, s.submitted_at, ap.name from appraisal_scores s
            join people ap on ap.id = s.appraiser_id where s.run_id in :runs order by s.id""",
                             submitted_at=UtcDateTime()),
        "findings": of_runs("""
            select f.run_id, f.item, f.responsible from findings f where f.run_id in :runs
            order by f.id"""),
        # Practice legs: confirmed coaching minutes, the graded hand-ins (none in this data).
        "coaching": of_runs("""
            select run_id, module_code, sum(minutes) from coaching_sessions
            where run_id in :runs and answer = 'confirmed' group by run_id, module_code"""),
        "hand_ins": of_runs("""
            select run_id, module_code, number, scores from submissions
            where run_id in :runs and graded_at is not null order by number"""),
        "imported": session.execute(text(f"""
            select t.module_code, t.completed_on, t.score from imported_training t
            join imported_employees e on e.employee_id = t.employee_id where {same_person}
            order by t.completed_on, t.id""").columns(completed_on=Date()), bound).all(),
        "metrics": session.execute(text(f"""
            select m.month, m.metric, m.value from imported_metrics m
            join imported_employees e on e.employee_id = m.employee_id where {same_person}
            order by m.month, m.id""").columns(month=String(), value=Float()), bound).all(),
        "rewards": session.execute(text(f"""
            select w.happened_on, w.kind, w.note from imported_rewards w
            join imported_employees e on e.employee_id = w.employee_id where {same_person}
            order by w.happened_on, w.id""").columns(happened_on=Date()), bound).all(),
    }


def record_numbers(report: Any) -> dict[str, Any]:
    """The numbers of an `EmployeeReport`."""
    return {
        "employee_ids": report.identity.employee_ids, "hired_on": report.identity.first_day,
        "training": sorted((s.version, s.assigned, s.due, s.completed, s.scores)
                           for s in report.training if not s.imported),
        "imported": [(s.completed, s.best) for s in report.training if s.imported],
        "appraisals": sorted((a.run_id, a.outcome, a.appraised,
                              tuple(sorted(line.score for line in a.lines)), len(a.findings))
                             for a in report.appraisals if a.lines),
        "metrics": sorted((m.month.isoformat()[:7], metric, value) for m in report.work.months
                          for metric, value in zip(report.work.metrics, m.values, strict=True)
                          if value is not None),
        "rewards": [(r.day, r.kind, r.note) for r in report.rewards],
        "coaching_hours": sum(s.coaching_hours or 0 for s in report.training),
        "hand_ins": sum(bool(s.hand_in) for s in report.training)}


def record_sql_numbers(rows: dict[str, list[Any]]) -> dict[str, Any]:
    """The same numbers from the hand-written queries' rows."""
    from tasks.dates import local_date

    def day(at: datetime | None) -> date | None:
        return local_date(at) if at else None

    studies: dict[int, Any] = {}
    scores: dict[int, list[int]] = defaultdict(list)
    for a, assigned, due, completed, _status, version, score in rows["training"]:
        studies[a] = (day(version), day(assigned), day(due), day(completed))
        if score is not None:
            scores[a].append(score)
    pass_marks = dict(rows["runs"])
    scored: dict[int, list[Any]] = defaultdict(list)
    for run, score, at, _who in rows["appraisal"]:
        scored[run].append((score, pass_marks[run], at))
    findings: dict[int, int] = defaultdict(int)
    for run, _item, _party in rows["findings"]:
        findings[run] += 1
    return {
        "employee_ids": tuple(r[0] for r in rows["identity"]),
        "hired_on": rows["identity"][0][2],
        "training": sorted((*s, tuple(scores[a])) for a, s in studies.items()),
        "imported": [(d, s) for _m, d, s in rows["imported"]],
        "coaching_hours": sum(round(minutes / 60, 1) for _r, _m, minutes in rows["coaching"]),
        "hand_ins": len({(r, m) for r, m, _n, _s in rows["hand_ins"]}),
        "appraisals": sorted((run, "passed" if min(s for s, _, _ in v) >= v[0][1] else "failed",
                              local_date(max(at for _, _, at in v)),
                              tuple(sorted(s for s, _, _ in v)), findings[run])
                             for run, v in scored.items()),
        "metrics": sorted((m, metric, value) for m, metric, value in rows["metrics"]),
        "rewards": [tuple(r) for r in rows["rewards"]]}


def record_pair(employees: int, repeat: int) -> tuple[Pair, dict[str, tuple[str, float]]]:
    from tasks.env import reading
    from tasks.reports.employee import employee_report, find_employees
    from tasks.reports.export import csv_bytes, xlsx_bytes

    twice = int(employees * _data.TWICE)  # these have two runs
    rng = random.Random(11)
    sample = [_data.employee_id(i) for i in
              rng.sample(range(twice), min(SAMPLE // 2, twice)) +
              rng.sample(range(twice, employees), SAMPLE - min(SAMPLE // 2, twice))]

    def by_hand(key: str) -> dict[str, list[Any]]:
        with reading() as session:
            return record_sql(session, key)

    for key in sample:
        report = employee_report(key, "zh_CN")
        numbers = record_numbers(report)
        same(f"employee report of {key}", numbers, record_sql_numbers(by_hand(key)))
        if not numbers["training"] or not numbers["metrics"] or not numbers["rewards"]:
            raise SystemExit(f"employee report of {key}: a part is empty: the data set does "
                             "not exercise it")
    pair = Pair(f"employee report ({len(sample)} employees)")
    for _ in range(repeat):
        for key in sample:
            pair.run(partial(employee_report, key, "zh_CN"), partial(by_hand, key))
    more: dict[str, tuple[str, float]] = {}
    reports = [employee_report(key, "zh_CN") for key in sample]
    for key, name, export in (("record_xlsx_s", "employee report as XLSX", xlsx_bytes),
                              ("record_csv_s", "employee report as CSV", csv_bytes)):
        more[key] = (name, statistics.median(timer(partial(export, r))[0]
                                             for _ in range(repeat) for r in reports))
    pages = -(-employees // 50)
    for key, name, page, query in (
            ("list_first_page_s", "employee list, first page", 1, ""),
            ("list_search_s", "employee list, a search", 1, "员工0123"),
            ("list_last_page_s", "employee list, last page", pages, "")):
        more[key] = (name, statistics.median(
            timer(partial(find_employees, query, page, "zh_CN"))[0] for _ in range(repeat)))
    return pair, more


# --- the effectiveness report -----------------------------------------------------------------

DONE = """done AS (
  SELECT employee_id, MIN(month) AS month,
         MIN(CASE WHEN imported = 1 THEN month END) AS imported_month
  FROM (SELECT employee_id, substr(CAST(completed_on AS VARCHAR), 1, 7) AS month, 1 AS imported
        FROM imported_training WHERE module_code = :module
        UNION ALL
        SELECT e.employee_id, substr(CAST(a.completed_at AS VARCHAR), 1, 7), 0
        FROM assignments a JOIN runs r ON r.id = a.run_id JOIN people p ON p.id = r.hire_id
        JOIN imported_employees e ON e.email = p.email
        WHERE a.module_code = :module AND a.status = 'passed') c
  GROUP BY employee_id)"""

# By index (SQLite's best): per-employee month ranges from the covering index, the totals
# from one plain scan, the completers' figures by index range; the others' sums are the
# totals less the completers'.
BY_INDEX = f"""
WITH {DONE},
person AS (
  SELECT p.employee_id, p.first, p.last, d.month AS done_month, d.imported_month,
         CASE WHEN d.month IS NOT NULL AND p.last > d.month THEN 1 ELSE 0 END AS completed,
         CASE WHEN d.month IS NOT NULL AND p.last > d.month AND p.first < d.month
              THEN 1 ELSE 0 END AS both_sides
  FROM (SELECT employee_id, MIN(month) AS first, MAX(month) AS last FROM imported_metrics
        WHERE metric = :metric GROUP BY employee_id) p
  LEFT JOIN done d ON d.employee_id = p.employee_id)
SELECT a.other_n, t.all_sum - b.done_sum, t.all_n - b.done_n, a.other_first, a.other_last,
       a.completed_n, a.imported_n, b.completed_sum, b.completed_months,
       b.after_first, b.after_last, a.both_n, b.before_sum, b.before_n, b.after_sum, b.after_n
FROM
 (SELECT COUNT(CASE WHEN done_month IS NULL THEN 1 END) AS other_n,
         MIN(CASE WHEN done_month IS NULL THEN first END) AS other_first,
         MAX(CASE WHEN done_month IS NULL THEN last END) AS other_last,
         SUM(completed) AS completed_n, SUM(both_sides) AS both_n,
         COUNT(CASE WHEN completed = 1 AND imported_month = done_month THEN 1 END) AS imported_n
  FROM person) a,
 (SELECT SUM(m.value) AS done_sum, COUNT(*) AS done_n,
         SUM(CASE WHEN m.month > p.done_month THEN m.value END) AS completed_sum,
         COUNT(CASE WHEN m.month > p.done_month THEN 1 END) AS completed_months,
         MIN(CASE WHEN m.month > p.done_month THEN m.month END) AS after_first,
         MAX(CASE WHEN m.month > p.done_month THEN m.month END) AS after_last,
         SUM(CASE WHEN p.both_sides = 1 AND m.month < p.done_month THEN m.value END) AS before_sum,
         COUNT(CASE WHEN p.both_sides = 1 AND m.month < p.done_month THEN 1 END) AS before_n,
         SUM(CASE WHEN p.both_sides = 1 AND m.month > p.done_month THEN m.value END) AS after_sum,
         COUNT(CASE WHEN p.both_sides = 1 AND m.month > p.done_month THEN 1 END) AS after_n
  FROM person p JOIN imported_metrics m ON m.employee_id = p.employee_id AND m.metric = :metric
  WHERE p.done_month IS NOT NULL) b,
 (SELECT SUM(value) AS all_sum, COUNT(*) AS all_n FROM imported_metrics
  WHERE metric = :metric) t
"""

# In one pass (PostgreSQL's best, which hash-joins): every figure joined to its employee's
# completion, summed per employee, then per group.
ONE_PASS = f"""
WITH {DONE},
per AS (
  SELECT m.employee_id, MAX(d.month) AS done_month, MAX(d.imported_month) AS imported_month,
         SUM(CASE WHEN m.month > d.month THEN m.value END) AS after_sum,
         COUNT(CASE WHEN m.month > d.month THEN 1 END) AS after_n,
         SUM(CASE WHEN m.month < d.month THEN m.value END) AS before_sum,
         COUNT(CASE WHEN m.month < d.month THEN 1 END) AS before_n,
         SUM(m.value) AS total, COUNT(*) AS months,
         MIN(CASE WHEN m.month > d.month THEN m.month END) AS after_first,
         MAX(CASE WHEN m.month > d.month THEN m.month END) AS after_last,
         MIN(m.month) AS first, MAX(m.month) AS last
  FROM imported_metrics m LEFT JOIN done d ON d.employee_id = m.employee_id
  WHERE m.metric = :metric GROUP BY m.employee_id)
SELECT COUNT(CASE WHEN done_month IS NULL THEN 1 END),
       SUM(CASE WHEN done_month IS NULL THEN total END),
       SUM(CASE WHEN done_month IS NULL THEN months END),
       MIN(CASE WHEN done_month IS NULL THEN first END),
       MAX(CASE WHEN done_month IS NULL THEN last END),
       COUNT(CASE WHEN after_n > 0 THEN 1 END),
       COUNT(CASE WHEN after_n > 0 AND imported_month = done_month THEN 1 END),
       SUM(CASE WHEN after_n > 0 THEN after_sum END),
       SUM(CASE WHEN after_n > 0 THEN after_n END),
       MIN(CASE WHEN after_n > 0 THEN after_first END),
       MAX(CASE WHEN after_n > 0 THEN after_last END),
       COUNT(CASE WHEN after_n > 0 AND before_n > 0 THEN 1 END),
       SUM(CASE WHEN after_n > 0 AND before_n > 0 THEN before_sum END),
       SUM(CASE WHEN after_n > 0 AND before_n > 0 THEN before_n END),
       SUM(CASE WHEN after_n > 0 AND before_n > 0 THEN after_sum END),
       SUM(CASE WHEN after_n > 0 AND before_n > 0 THEN after_n END)
FROM per
"""

# The least a report could do: the two groups' means in one pass, imported history only.
MINIMAL = """
SELECT AVG(CASE WHEN d.month IS NOT NULL AND m.month > d.month THEN m.value END),
       AVG(CASE WHEN d.month IS NULL THEN m.value END)
FROM imported_metrics m
LEFT JOIN (SELECT employee_id, MIN(substr(CAST(completed_on AS VARCHAR), 1, 7)) AS month
           FROM imported_training WHERE module_code = :module GROUP BY employee_id) d
       ON d.employee_id = m.employee_id
WHERE m.metric = :metric
"""


def effectiveness_sql_numbers(row: Any) -> dict[str, Any]:
    """The report's numbers from a row of BY_INDEX or ONE_PASS (same columns, same order)."""
    (other_n, other_sum, other_months, _other_first, _other_last, completed_n, imported_n,
     completed_sum, completed_months, _after_first, _after_last, both_n, before_sum,
     before_months, after_sum, after_months) = row

    def mean(total: Any, count: Any) -> float | None:
        return float(total) / int(count) if count and total is not None else None

    completed, others = mean(completed_sum, completed_months), mean(other_sum, other_months)
    before, after = mean(before_sum, before_months), mean(after_sum, after_months)
    lift = (completed - others) / others * 100 if completed is not None and others else None
    return {"completed_n": int(completed_n), "not_completed_n": int(other_n),
            "completed_imported_n": int(imported_n), "before_after_n": int(both_n),
            "completed_mean": round(completed, 2) if completed is not None else None,
            "not_completed_mean": round(others, 2) if others is not None else None,
            "lift_pct": round(lift, 1) if lift is not None else None,
            "before_mean": round(before, 2) if before is not None else None,
            "after_mean": round(after, 2) if after is not None else None}


def effectiveness_pair(repeat: int) -> tuple[Pair, dict[str, tuple[str, float]], str, Any]:
    from sqlalchemy import text

    from tasks.env import reading
    from tasks.reports.effectiveness import effectiveness

    params = {"module": _data.MODULE, "metric": _data.METRIC}

    def report() -> Any:
        with reading() as session:
            return effectiveness(session=session, module=_data.MODULE, metric=_data.METRIC,
                                 locale="zh_CN")

    def by_hand(query: str) -> Any:
        with reading() as session:
            return session.execute(text(query), params).one()

    found = report()
    numbers = {k: v for k, v in found.model_dump().items() if k in (
        "completed_n", "not_completed_n", "completed_imported_n", "before_after_n",
        "completed_mean", "not_completed_mean", "lift_pct", "before_mean", "after_mean")}
    for name, query in (("by index", BY_INDEX), ("one pass", ONE_PASS)):
        same(f"effectiveness, hand-written {name}", numbers,
             effectiveness_sql_numbers(by_hand(query)))
    if min(found.completed_n, found.not_completed_n, found.before_after_n) < 30:
        raise SystemExit(f"effectiveness: a group under 30 ({numbers}): the data set does "
                         "not exercise it")
    # Both hand-written forms are timed; the faster on this database is the one compared with.
    forms = {"by index": Pair("effectiveness"), "one pass": Pair("effectiveness")}
    for _ in range(repeat):
        for name, query in (("by index", BY_INDEX), ("one pass", ONE_PASS)):
            forms[name].run(report, partial(by_hand, query))
    fastest = min(forms, key=lambda name: forms[name].median("sql"))
    pair = forms[fastest]
    more = {"effectiveness_least_sql_s": ("effectiveness, least SQL (2 means)", statistics.median(
        timer(partial(by_hand, MINIMAL))[0] for _ in range(repeat)))}
    return pair, more, fastest, found


# --- storage ----------------------------------------------------------------------------------


def prepare(args: argparse.Namespace, folder: Path, say: Callable[[str], None]) -> str:
    """Storage filled with the data set (reused when it already holds it); what was done."""
    from deployments.cli import prepare_storage
    from storage import clock
    from tasks.dates import local_date

    prepare_storage()
    found = _data.counts()
    if found["employees"] == args.employees and found["runs"]:
        return f"reused: {found}"
    if found["employees"] or found["runs"]:
        raise SystemExit(f"storage holds other data ({found}): give an empty database, or "
                         f"the --keep directory of a run with --employees {found['employees']}")
    began = time.perf_counter()
    spent = _data.fill(args.employees, folder, local_date(clock.now()), say)
    imports = sum(v for k, v in spent.items() if k.endswith(".csv"))
    return (f"filled in {time.perf_counter() - began:.0f} s (imports {imports:.0f} s, relay's "
            f"rows {spent['relay inserted']:.0f} s): {_data.counts()}")


def drop_tables() -> None:
    """Leave a PostgreSQL database as it was found: empty."""
    from sqlalchemy import text

    from storage.db import get_engine
    from storage.models import Base
    from storage.settings import get_settings

    engine = get_engine(get_settings().storage_url)
    Base.metadata.drop_all(engine)
    with engine.begin() as c:
        c.execute(text("DROP TABLE IF EXISTS alembic_version"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--database-url", help="PostgreSQL (empty, or filled by an earlier "
                        "run with --keep) instead of a SQLite file in the data directory")
    parser.add_argument("--repeat", type=int, default=9, help="timed calls of each (median)")
    parser.add_argument("--keep", metavar="DIR", help="the data directory (SQLite file, "
                        "imported CSV files), kept and reused by the next run; with "
                        "--database-url the database is kept filled too")
    args = parser.parse_args()
    if args.employees < 500:
        parser.error("--employees: at least 500 (the effectiveness report's groups need 30)")
    folder = Path(args.keep or tempfile.mkdtemp(prefix="jieli-reports-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["JIELI_DATA_DIR"] = str(folder)
    if args.database_url:
        os.environ["JIELI_DATABASE_URL"] = args.database_url
    logging.disable(logging.WARNING)

    from sqlalchemy import text

    from storage import clock
    from tasks.dates import local_date
    from tasks.env import transaction

    backend = "postgresql" if args.database_url else "sqlite"
    try:
        done = prepare(args, folder, lambda line: print(line, flush=True))
        print(f"{backend}, {args.employees} employees: {done}", flush=True)
        if backend == "postgresql":  # as autovacuum does soon after a load: statistics
            with transaction() as session:
                session.execute(text("ANALYZE"))
        today = local_date(clock.now())
        load_before = os.getloadavg()
        dashboards, more = dashboard_pairs(today, args.repeat)
        record, record_more = record_pair(args.employees, args.repeat)
        effect, effect_more, fastest, found = effectiveness_pair(args.repeat)
        more |= record_more | effect_more
        load_after = os.getloadavg()
    finally:
        if backend == "postgresql" and not args.keep:
            drop_tables()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    pairs = [*dashboards, record, effect]
    print(f"\nmedian of {args.repeat} (employee report: {args.repeat} × {SAMPLE} employees), "
          f"{backend}, {os.cpu_count()} cores, load average {load_before[0]:.1f} before, "
          f"{load_after[0]:.1f} after; hand-written effectiveness SQL: {fastest}")
    print(f"{'seconds':32} {'report':>7} {'(CPU)':>7} {'(best)':>7} {'SQL':>7} {'(CPU)':>7} "
          f"{'(best)':>7} {'ratio':>6} {'(CPU)':>6}  target < {TARGET_S} s, ≤ {TARGET_RATIO}×")
    for p in pairs:
        ok = p.median("report") < TARGET_S and p.ratio() <= TARGET_RATIO
        print(f"{p.name:32} {p.median('report'):7.4f} {p.median('report', True):7.4f} "
              f"{p.best('report'):7.4f} {p.median('sql'):7.4f} {p.median('sql', True):7.4f} "
              f"{p.best('sql'):7.4f} {p.ratio():6.2f} {p.ratio(True):6.2f}  "
              f"{'met' if ok else 'MISSED'}")
    for name, seconds in more.values():
        print(f"{name:32} {seconds:9.4f}")
    print(f"effectiveness found: {found.completed_n} completers (mean {found.completed_mean}), "
          f"{found.not_completed_n} others (mean {found.not_completed_mean}), lift "
          f"{found.lift_pct}% (planted: +{(_data.EFFECT - 1) * 100:.0f}%)")
    two_years, last_year, days_90 = dashboards
    result: dict[str, Any] = {
        "employees": args.employees,
        "dashboard_s": round(two_years.median("report"), 4),
        "record_s": round(record.median("report"), 4),
        "effectiveness_s": round(effect.median("report"), 4),
        "dashboard_ratio": round(two_years.ratio(), 2),
        "record_ratio": round(record.ratio(), 2),
        "effectiveness_ratio": round(effect.ratio(), 2),
        "database": backend, "repeat": args.repeat, "cores": os.cpu_count(),
        "load_average": [round(load_before[0], 1), round(load_after[0], 1)],
        "dashboard_sql_s": round(two_years.median("sql"), 4),
        "record_sql_s": round(record.median("sql"), 4),
        "effectiveness_sql_s": round(effect.median("sql"), 4),
        "dashboard_cpu_s": round(two_years.median("report", True), 4),
        "record_cpu_s": round(record.median("report", True), 4),
        "effectiveness_cpu_s": round(effect.median("report", True), 4),
        "dashboard_best_s": round(two_years.best("report"), 4),
        "record_best_s": round(record.best("report"), 4),
        "effectiveness_best_s": round(effect.best("report"), 4),
        "dashboard_cpu_ratio": round(two_years.ratio(True), 2),
        "record_cpu_ratio": round(record.ratio(True), 2),
        "effectiveness_cpu_ratio": round(effect.ratio(True), 2),
        "dashboard_365d_s": round(last_year.median("report"), 4),
        "dashboard_365d_ratio": round(last_year.ratio(), 2),
        "dashboard_90d_s": round(days_90.median("report"), 4),
        "dashboard_90d_ratio": round(days_90.ratio(), 2),
        **{key: round(seconds, 4) for key, (_name, seconds) in more.items()},
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
