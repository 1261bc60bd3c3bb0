"""How long does the dashboard take on a company's two years of onboarding?

Fills storage (SQLite in a temporary data directory, or PostgreSQL with --postgres URL) with
10,000 employees' runs over the last two years, written in bulk: every run's department legs
(two hand-offs and the appraisal, some late, some never done), its study legs, 9
assignments per run (108,000), 2 quiz attempts per assignment (216,000), the appraisal scores
and findings of completed runs. Then it times `tasks.reports.dashboard.dashboard` (and the
page's charts) for a quarter, a year and the two years, and hand-written SQL giving the same
figures (the departments' and positions' numbers, and the progress of the same page of
running hires), and prints the medians.

    .venv/bin/python benchmarks/dashboard.py
    .venv/bin/python benchmarks/dashboard.py --postgres postgresql+psycopg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

EMPLOYEES = 10_000
RUNS = 12_000  # some employees onboarded twice (a move to another position)
ATTEMPTS = 2  # quiz attempts per assignment
ZONE = ZoneInfo("Asia/Shanghai")


def moment(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, clock_time(hour), tzinfo=ZONE).astimezone(UTC)


def fill(today: date, seed: int = 7) -> int:
    """Write the two years in bulk; the number of runs still active."""
    from sqlalchemy import insert, select

    from storage import repo
    from storage.models import (
        AppraisalScore,
        Assignment,
        Delivery,
        Finding,
        Gate,
        Handoff,
        Person,
        QuizAttempt,
        Run,
    )
    from tasks.dates import end_of_day
    from tasks.env import get_catalog, transaction

    rng = random.Random(seed)
    catalog = get_catalog()
    plans = {code: repo.plan_for(catalog, code) for code in catalog.positions}
    positions = list(plans)
    modules = list(catalog.modules)
    with transaction() as session:
        session.execute(insert(Person), [{"name": f"员工{i}", "email": f"hire{i}@bench.example",
                                          "locale": "zh_CN"} for i in range(EMPLOYEES)])
        hires = list(session.scalars(select(Person.id).where(
            Person.email.like("hire%@bench.example")).order_by(Person.id)))
        owner = session.scalar(select(Person.id).where(
            Person.email == catalog.departments["hr"].owner.email))
        for code in modules:  # every module's materials were handed off long ago
            session.add(Delivery(module_code=code, delivered_by_id=owner, via="cli",
                                 delivered_at=moment(today - timedelta(days=800))))
        session.flush()
        runs, gates, handoffs, assignments, scores, findings = [], [], [], [], [], []
        active = 0
        for i in range(RUNS):
            position = positions[i % len(positions)]
            plan = plans[position]
            # An employee onboarded twice finished the first run before the second began.
            twice, again = i < RUNS - EMPLOYEES, i >= EMPLOYEES
            start = today - timedelta(days=400 + rng.randrange(330) if twice
                                      else rng.randrange(380 if again else 730))
            done = start + timedelta(days=31 + rng.randrange(5))
            completed = done < today
            active += not completed
            runs.append({"id": i + 1, "hire_id": hires[i % EMPLOYEES],
                         "position_code": position, "start_date": start,
                         "started_at": moment(start, 9), "plan": plan,
                         "status": "completed" if completed else "active", "pass_no": 3,
                         "uid": uuid.uuid4().hex,
                         "completed_at": moment(done, 18) if completed else None})
            due = end_of_day(start + timedelta(days=2))
            for module in plan.modules[-2:]:  # two departments' hand-offs
                late = rng.random() < 0.3
                never = late and rng.random() < 0.2
                closed = None if never else moment(start + timedelta(
                    days=(3 + rng.randrange(10)) if late else 1))
                if closed and completed and closed > moment(done, 18):
                    closed = moment(done, 17)
                gates.append({"run_id": i + 1, "kind": "handoff", "subject": module.code,
                              "waiting_on": module.owner, "opened_at": moment(start, 9),
                              "due_at": due,
                              "closed_at": closed or (moment(done, 18) if completed else None)})
                handoffs.append({"run_id": i + 1, "module_code": module.code,
                                 "department": module.owner, "owner_id": owner,
                                 "requested_at": moment(start, 9), "due_at": due,
                                 "delivered_at": closed})
            appraisal_day = start + timedelta(days=30)
            if appraisal_day <= today:
                scored = appraisal_day + timedelta(days=rng.randrange(5))
                gates.append({"run_id": i + 1, "kind": "appraisal", "subject": "appraisal",
                              "waiting_on": plan.position.department,
                              "opened_at": moment(appraisal_day, 9),
                              "due_at": end_of_day(appraisal_day + timedelta(days=2)),
                              "closed_at": moment(scored) if completed or scored < today
                              else None})
            for code in modules:
                assignments.append({"run_id": i + 1, "module_code": code,
                                    "assigned_at": moment(start + timedelta(days=1)),
                                    "due_at": end_of_day(start + timedelta(days=5)),
                                    "status": "passed" if completed else "assigned"})
            for module in plan.modules:
                gates.append({"run_id": i + 1, "kind": "study", "subject": module.code,
                              "waiting_on": "hire", "opened_at": moment(start + timedelta(1)),
                              "due_at": end_of_day(start + timedelta(days=5)),
                              "closed_at": moment(start + timedelta(days=4)) if completed
                              else None})
            if completed:
                failed = rng.random() < 0.25
                for item in plan.position.appraisal.items:
                    for criterion in item.criteria:
                        scores.append({"run_id": i + 1, "item": item.code,
                                       "criterion": str(criterion),
                                       "score": 40 if failed else 60 + rng.randrange(40),
                                       "appraiser_id": owner, "submitted_at": moment(done)})
                    if failed:
                        findings.append({"run_id": i + 1, "item": item.code,
                                         "cause": "content-late",
                                         "responsible": rng.choice(["marketing", "hr",
                                                                    "technology", "hire"]),
                                         "evidence": [], "remedial": [],
                                         "created_at": moment(done)})
        for table, rows in ((Run, runs), (Gate, gates), (Handoff, handoffs),
                            (Assignment, assignments), (AppraisalScore, scores),
                            (Finding, findings)):
            for k in range(0, len(rows), 20_000):
                session.execute(insert(table), rows[k:k + 20_000])
        ids = list(session.scalars(select(Assignment.id).order_by(Assignment.id)))
        for k in range(0, len(ids), 20_000):
            session.execute(insert(QuizAttempt), [
                {"assignment_id": a, "attempt_no": n + 1, "score": 70 + 10 * n,
                 "passed": n > 0, "taken_at": moment(today - timedelta(days=1))}
                for a in ids[k:k + 20_000] for n in range(ATTEMPTS)])
    return active


def hand_written(session: Any, start: datetime, cutoff: datetime, dialect: str,
                 zone: str, run_ids: list[int]) -> tuple[Any, ...]:
    """The same figures in SQL written by hand (SQLite or PostgreSQL), the calendar of
    working days passed in as a table."""
    from sqlalchemy import text

    from tasks.workdays import company_calendar

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
    end = (f"case when {done} then g.closed_at when {ended} < :cutoff then {ended} "
           "else :cutoff end")
    legs = f"""
        select g.run_id, g.waiting_on dept, g.kind,
               case when g.due_at < {end} then 1 else 0 end late,
               case when g.due_at < {end} and not {done} then 1 else 0 end not_done,
               {day.format('g.due_at')} due_day, {day.format(end)} end_day
        from gates g join runs r on r.id = g.run_id
        left join (select run_id, min(submitted_at) at from appraisal_scores
                   group by run_id) a on a.run_id = g.run_id
        where g.opened_at > :start and g.opened_at <= :cutoff and r.status != 'cancelled'
          and g.waiting_on in (select code from departments)"""
    params: dict[str, Any] = {"start": start, "cutoff": cutoff, "zone": zone}
    if dialect != "postgresql":  # SQLite compares the stored text: UTC, with microseconds
        params = {name: params[name].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                  for name in ("start", "cutoff")}
    per_department = session.execute(text(f"""
        select dept, count(*), sum(case when kind = 'handoff' then 1 else 0 end), sum(late),
               sum(not_done), sum(case when late = 1 then end_day - due_day else 0 end),
               count(distinct case when late = 1 then run_id end)
        from ({legs}) legs group by dept"""), params).all()
    calendar = company_calendar()
    lo = (start.date() - timedelta(days=60) - date(1970, 1, 1)).days
    hi = (cutoff.date() + timedelta(days=1) - date(1970, 1, 1)).days
    worked, counts = 0, []
    for n in range(lo, hi + 1):
        worked += n > lo and calendar.is_working_day(date(1970, 1, 1) + timedelta(days=n))
        counts.append(f"({n}, {worked})")
    blocked = session.execute(text(f"""
        with cal(day, worked) as (values {', '.join(counts)})
        select w.dept, sum(e.worked - d.worked) from (
            select dept, run_id, due_day, max(end_day) end_day from ({legs}) legs
            where late = 1 group by dept, run_id, due_day) w
        join cal d on d.day = w.due_day join cal e on e.day = w.end_day
        group by w.dept"""), params).all()
    found = session.execute(text("""
        select f.responsible, count(*) from findings f join runs r on r.id = f.run_id
        where f.created_at > :start and f.created_at <= :cutoff and r.status != 'cancelled'
        group by f.responsible"""), params).all()
    mark = ("(r.plan #>> '{position,appraisal,pass_mark}')::int" if dialect == "postgresql"
            else "json_extract(r.plan, '$.position.appraisal.pass_mark')")
    rates = session.execute(text(f"""
        select r.position_code, count(*), sum(case when s.lowest >= {mark} then 1 else 0 end)
        from (select run_id, min(score) lowest from appraisal_scores
              where submitted_at > :start and submitted_at <= :cutoff group by run_id) s
        join runs r on r.id = s.run_id
        where r.status != 'cancelled' group by r.position_code"""), params).all()
    # The plan's modules, and how many practice legs (coaching, assignment) each has; the
    # benchmark's runs have no practice records yet, so none of those legs is done.
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
    select_modules += f" where r.id in ({', '.join(map(str, run_ids or [0]))})"
    progress = session.execute(text(f"""
        select pm.run_id, count(*) * 2 + sum(coalesce(pm.practice, 0)),
               sum((select count(*) from (select 1 from deliveries d
                    where d.module_code = pm.code limit 1) x)
                   + (select count(*) from assignments a where a.run_id = pm.run_id
                      and a.module_code = pm.code and a.status != 'assigned'))
        from ({select_modules}) pm group by pm.run_id""")).all()
    return per_department, blocked, found, rates, progress


def timed(what: Callable[[], Any], times: int = 5) -> tuple[float, float, Any]:
    """Median wall-clock and CPU seconds of `times` calls, and the last result. On a shared
    machine the CPU time is what the work costs (SQLite runs in this process); the wall
    clock adds the waiting for a core."""
    wall, cpu, result = [], [], None
    for _ in range(times):
        began, began_cpu = time.perf_counter(), time.process_time()
        result = what()
        wall.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    return statistics.median(wall), statistics.median(cpu), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL database to fill instead of SQLite "
                        "(an empty one: filled on the first run, timed as it is on the next)")
    parser.add_argument("--data", help="a data directory: filled on the first run, timed "
                        "as it is on the next ones")
    args = parser.parse_args()
    data = args.data or tempfile.mkdtemp(prefix="jieli-dashboard-")
    os.environ["JIELI_DATA_DIR"] = data
    if args.postgres:
        os.environ["JIELI_DATABASE_URL"] = args.postgres

    from sqlalchemy import text

    from deployments.cli import prepare_storage
    from storage import clock
    from tasks.dates import local_date
    from tasks.env import transaction

    today = local_date(clock.now())
    prepare_storage()
    with transaction() as session:
        filled = bool(session.scalar(text("SELECT count(*) FROM runs")))
    if not filled:
        began = time.perf_counter()
        active = fill(today)
        print(f"filled in {time.perf_counter() - began:.1f} s: {EMPLOYEES} employees, {RUNS} "
              f"runs ({active} active), {RUNS * 9} assignments, {RUNS * 9 * ATTEMPTS} quiz "
              f"attempts ({'PostgreSQL' if args.postgres else 'SQLite'}, {data})")
    if args.postgres:  # as autovacuum does after a bulk load: the planner needs statistics
        with transaction() as session:
            session.execute(text("ANALYZE"))
    measure(today)


def measure(today: date) -> None:
    """Time the dashboard and the hand-written SQL for a quarter, a year and two years."""
    from forms.dashboard import _charts
    from storage import clock
    from storage.settings import get_settings
    from tasks.dates import end_of_day
    from tasks.env import reading
    from tasks.reports.dashboard import Filters, dashboard

    for days, label in ((90, "last 90 days"), (365, "last year"), (730, "two years")):
        filters = Filters(today - timedelta(days=days - 1), today)
        spent, spent_cpu, board = timed(partial(dashboard, filters, "zh_CN"))
        drawn, _, _ = timed(partial(_charts, board, "zh_CN"))
        start = end_of_day(filters.start - timedelta(days=1))
        cutoff = min(end_of_day(filters.end), clock.now())
        ids = [h.run_id for h in board.hires]

        def by_hand(s: datetime = start, c: datetime = cutoff, shown: list[int] = ids) -> Any:
            with reading() as session:
                return hand_written(session, s, c, session.get_bind().dialect.name,
                                    get_settings().timezone, shown)

        raw, raw_cpu, figures = timed(by_hand)
        departments = {d.code: (d.legs, d.handoffs, d.late, d.not_done, d.days_late,
                                d.hires_blocked, d.blocked_working_days) for d in board.departments
                       if d.legs}
        by_sql = {row[0]: tuple(int(v) for v in row[1:]) + (
            dict((r[0], int(r[1])) for r in figures[1]).get(row[0], 0),) for row in figures[0]}
        same = {"departments": departments == by_sql,
                "positions": sorted((p.code, p.appraised, p.passed) for p in board.positions
                                    if p.appraised) ==
                sorted((r[0], int(r[1]), int(r[2])) for r in figures[3]),
                "progress": sorted((h.run_id, h.legs_total, h.legs_done) for h in board.hires) ==
                sorted((int(r[0]), int(r[1]), int(r[2])) for r in figures[4])}
        if not all(same.values()):
            print("  different:", [k for k, v in same.items() if not v], departments, by_sql)
        print(f"{label:>13}: dashboard {1000 * spent:5.0f} ms (CPU {1000 * spent_cpu:4.0f}; "
              f"charts {1000 * drawn:3.0f} ms more), hand-written SQL {1000 * raw:5.0f} ms "
              f"(CPU {1000 * raw_cpu:4.0f}), ratio {spent / raw:4.2f} (CPU "
              f"{spent_cpu / raw_cpu:4.2f}), same figures: {all(same.values())}")


if __name__ == "__main__":
    main()
