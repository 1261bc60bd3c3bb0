"""One company's two years in Jieli, for the report benchmarks (benchmarks/reports.py).

What the old system knew comes in through the project's own import (`tasks.importing.
import_file`, what `jieli import` calls, as HR): CSV files written in the old system's
shape (Chinese headings, names of departments, positions and modules rather than codes)
under `<data dir>/imports/`, each checked row by row and stored as the command stores them:

- employees: N (default 10,000), each with a 工号, a name, an address, a department and a
  position, hired up to three years before their first onboarding run;
- training history: the old system's courses, about 0.8 per employee (some of them the
  module the effectiveness report is asked about, `MODULE`, within the metrics' months);
- monthly metrics: 24 months (the last full ones) of `METRICS` for every employee, one file
  per metric; `METRIC` rises by `EFFECT` after an employee first completes `MODULE`
  (the old system's history or Jieli's quiz, whichever came first);
- rewards and penalties: 2 per employee.

What only Jieli's relay writes (a pass, a hand-off, a quiz) is inserted in bulk, shaped as
the relay leaves it: a person per employee (the same address, so the employee report joins
both), 1.2 runs per employee (20% of them onboarded a second time into another position
after the first run completed) started over the last two years; each run's gates (the two
last modules' hand-offs, some late and some never done, the hire's study legs, the
appraisal 30 days in), its hand-offs, an assignment of each of the catalog's 9 modules
(its plan's, and the others standing for electives and remedial training: 108,000 for
10,000 employees), 1 to 3 quiz attempts each (about 216,000; passed with the second,
failed after three, or still assigned after one), the appraisal scores of completed runs
and a finding per item of the failed ones; the materials of each module handed off every
quarter. No practice records (coaching, hand-ins): no run of this data set has any.
"""

from __future__ import annotations

import bisect
import csv
import random
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

HR = "liu.fang@example.com"  # the catalog's HR owner: the one who may import
MONTHS = 24
METRICS = ("销售额", "客户数")
MODULE, METRIC = "customer-communication", "销售额"  # what the effectiveness report asks
EFFECT = 1.3  # METRIC after completing MODULE, against before
TWICE = 0.2  # of the employees, those onboarded a second time
ZONE = ZoneInfo("Asia/Shanghai")
CHUNK = 20_000  # rows per bulk INSERT


def moment(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, clock_time(hour), tzinfo=ZONE).astimezone(UTC)


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def window(today: date) -> list[str]:
    """The last MONTHS full months, oldest first."""
    first = today.year * 12 + today.month - 1 - MONTHS
    return [f"{(first + k) // 12:04d}-{(first + k) % 12 + 1:02d}" for k in range(MONTHS)]


def employee_id(i: int) -> str:
    return f"E{i:05d}"


def email(i: int) -> str:
    return f"e{i:05d}@bench.example"


@dataclass
class Company:
    """Everything, as rows: the old system's files and the relay's tables."""

    employees: int
    today: date
    staff: list[list[Any]] = field(default_factory=list)  # the employees file's rows
    history: list[list[Any]] = field(default_factory=list)
    metrics: dict[str, list[list[Any]]] = field(default_factory=dict)
    rewards: list[list[Any]] = field(default_factory=list)
    people: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    gates: list[dict[str, Any]] = field(default_factory=list)
    handoffs: list[dict[str, Any]] = field(default_factory=list)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[list[int]] = field(default_factory=list)  # scores, per assignment
    scores: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)


def plan(employees: int, today: date, seed: int = 7) -> Company:
    """The company's rows, the same for the same arguments."""
    from storage import repo
    from tasks.dates import end_of_day
    from tasks.env import get_catalog

    rng = random.Random(seed)
    catalog = get_catalog()
    plans = {code: repo.plan_for(catalog, code) for code in catalog.positions}
    positions = list(plans)
    modules = list(catalog.modules)
    company = Company(employees, today)
    twice = int(employees * TWICE)
    runs = employees + twice
    first_run: dict[int, tuple[date, str]] = {}
    completed_on: dict[int, date] = {}  # the first completion of MODULE, per employee
    for i in range(runs):
        who = i % employees
        position = positions[rng.randrange(len(positions))]
        run_plan = plans[position]
        # An employee onboarded twice finished the first run before the second began.
        start = today - timedelta(days=400 + rng.randrange(330) if i < twice
                                  else rng.randrange(380 if i >= employees else 730))
        first_run.setdefault(who, (start, position))
        done = start + timedelta(days=31 + rng.randrange(5))
        completed = done < today
        run_id = i + 1
        company.runs.append({
            "id": run_id, "hire_id": who, "position_code": position, "start_date": start,
            "started_at": moment(start, 9), "plan": run_plan,
            "appraisal_pass_mark": run_plan.position.appraisal.pass_mark,
            "status": "completed" if completed else "active", "pass_no": 3,
            "uid": uuid.UUID(int=rng.getrandbits(128)).hex,
            "completed_at": moment(done, 18) if completed else None})
        due = end_of_day(start + timedelta(days=2))
        for module in run_plan.modules[-2:]:  # two departments' hand-offs
            late = rng.random() < 0.3
            never = late and rng.random() < 0.2
            closed = None if never else moment(start + timedelta(
                days=(3 + rng.randrange(10)) if late else 1))
            if closed and completed and closed > moment(done, 18):
                closed = moment(done, 17)
            company.gates.append({
                "run_id": run_id, "kind": "handoff", "subject": module.code,
                "waiting_on": module.owner, "opened_at": moment(start, 9), "due_at": due,
                "closed_at": closed or (moment(done, 18) if completed else None)})
            company.handoffs.append({
                "run_id": run_id, "module_code": module.code, "department": module.owner,
                "requested_at": moment(start, 9), "due_at": due, "delivered_at": closed})
        appraisal_day = start + timedelta(days=30)
        if appraisal_day <= today:
            scored = appraisal_day + timedelta(days=rng.randrange(5))
            company.gates.append({
                "run_id": run_id, "kind": "appraisal", "subject": "appraisal",
                "waiting_on": run_plan.position.department,
                "opened_at": moment(appraisal_day, 9),
                "due_at": end_of_day(appraisal_day + timedelta(days=2)),
                "closed_at": moment(scored) if completed or scored < today else None})
        for code in modules:
            finished = start + timedelta(days=2 + rng.randrange(4))
            status = ("assigned" if not completed or finished >= today
                      else "passed" if rng.random() < 0.9 else "failed")
            company.assignments.append({
                "run_id": run_id, "module_code": code,
                "assigned_at": moment(start + timedelta(days=1)),
                "due_at": end_of_day(start + timedelta(days=5)), "status": status,
                "completed_at": None if status == "assigned" else moment(finished, 16)})
            company.attempts.append({"passed": [70, 90], "failed": [50, 60, 70],
                                     "assigned": [70]}[status])
            if code == MODULE and status == "passed":
                completed_on[who] = min(completed_on.get(who, finished), finished)
        for module in run_plan.modules:
            company.gates.append({
                "run_id": run_id, "kind": "study", "subject": module.code, "waiting_on": "hire",
                "opened_at": moment(start + timedelta(1)),
                "due_at": end_of_day(start + timedelta(days=5)),
                "closed_at": moment(start + timedelta(days=4)) if completed else None})
        if completed:
            failed = rng.random() < 0.25
            for item in run_plan.position.appraisal.items:
                for criterion in item.criteria:
                    company.scores.append({
                        "run_id": run_id, "item": item.code, "criterion": str(criterion),
                        "score": 40 if failed else 60 + rng.randrange(40),
                        "submitted_at": moment(done)})
                if failed:
                    company.findings.append({
                        "run_id": run_id, "item": item.code, "cause": "content-late",
                        "responsible": rng.choice(["marketing", "hr", "technology", "hire"]),
                        "evidence": [], "remedial": [], "created_at": moment(done)})

    # The old system's files, as it would export them: names, not codes.
    months = window(today)
    first_month = date(int(months[0][:4]), int(months[0][5:]), 1)
    for i in range(employees):
        start, position = first_run[i]
        hired = start - timedelta(days=rng.randrange(3 * 365))
        pos = catalog.positions[position]
        company.staff.append([employee_id(i), f"员工{i:05d}", email(i),
                              catalog.departments[pos.department].name.zh_CN,
                              pos.title.zh_CN, hired.isoformat()])
        company.people.append({"name": f"员工{i:05d}", "email": email(i), "locale": "zh_CN"})
        for code, share in (("culture", 0.4), ("rules", 0.2), (MODULE, 0.2)):
            if rng.random() < share:
                day = first_month + timedelta(days=60 + rng.randrange(MONTHS * 30 - 150))
                if code == MODULE:
                    completed_on[i] = min(completed_on.get(i, day), day)
                company.history.append([employee_id(i), catalog.modules[code].title.zh_CN,
                                        day.strftime("%Y/%m/%d"), 60 + rng.randrange(41)])
        for k in range(2):
            company.rewards.append([employee_id(i), (hired + timedelta(days=100 + 200 * k))
                                    .strftime("%Y年%m月%d日"), ("奖励", "惩罚")[k % 2],
                                    f"第{k + 1}次"])
    for metric in METRICS:
        rows = company.metrics.setdefault(metric, [])
        for i in range(employees):
            level = (10_000 if metric == METRIC else 40) * rng.gauss(1, 0.1)
            done_month = month_of(completed_on[i]) if i in completed_on else "9999-12"
            for month in months:
                lift = EFFECT if metric == METRIC and month > done_month else 1.0
                rows.append([employee_id(i), month, metric,
                             f"{level * lift * rng.gauss(1, 0.05):.2f}"])
    return company


HEADINGS = {"employees": ["工号", "姓名", "邮箱", "部门", "岗位", "入职日期"],
            "history": ["工号", "模块", "完成日期", "成绩"],
            "metrics": ["工号", "月份", "指标", "数值"],
            "rewards": ["工号", "日期", "类型", "说明"]}


def write_files(company: Company, folder: Path) -> list[tuple[str, Path]]:
    """The old system's CSV files (UTF-8 with a BOM, as Excel saves them), kind and path,
    in the order they are imported."""
    folder.mkdir(parents=True, exist_ok=True)
    files = [("employees", "员工.csv", company.staff), ("history", "培训记录.csv",
                                                      company.history)]
    files += [("metrics", f"指标-{metric}.csv", rows) for metric, rows in company.metrics.items()]
    files.append(("rewards", "奖惩.csv", company.rewards))
    written = []
    for kind, name, rows in files:
        with (folder / name).open("w", encoding="utf-8-sig", newline="") as f:
            out = csv.writer(f)
            out.writerow(HEADINGS[kind])
            out.writerows(rows)
        written.append((kind, folder / name))
    return written


def import_files(files: list[tuple[str, Path]], say: Callable[[str], None]) -> dict[str, float]:
    """Each file through `jieli import`'s function, as HR; seconds per file."""
    from tasks.import_columns import Kind
    from tasks.importing import import_file

    spent = {}
    for kind, path in files:
        began = time.perf_counter()
        report = import_file(kind=Kind(kind), path=path, by_email=HR, locale="zh_CN")
        spent[path.name] = time.perf_counter() - began
        if report.problems or not report.written:
            raise SystemExit(f"{path}: not imported: "
                             f"{[p.told('en') for p in report.problems[:5]]}")
        say(f"imported {path.name}: {report.added} rows in {spent[path.name]:.1f} s")
    return spent


def insert_relay(company: Company) -> None:
    """The relay's rows, in bulk."""
    from sqlalchemy import insert, select, text

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
    from tasks.env import get_catalog, transaction

    catalog = get_catalog()
    with transaction() as session:
        session.execute(insert(Person), company.people)
        ids = dict(session.execute(select(Person.email, Person.id)
                                   .where(Person.email.like("%@bench.example"))).tuples().all())
        hires = [ids[p["email"]] for p in company.people]
        owner = session.scalar(select(Person.id).where(
            Person.email == catalog.departments["hr"].owner.email))
        # Every module's materials handed off each quarter of the two years (and before).
        session.execute(insert(Delivery), [
            {"module_code": code, "delivered_by_id": owner, "via": "cli",
             "delivered_at": moment(company.today - timedelta(days=days))}
            for code in catalog.modules for days in range(800, 0, -90)])
        runs = [{**r, "hire_id": hires[r["hire_id"]]} for r in company.runs]
        for table, rows in ((Run, runs), (Gate, company.gates),
                            (Handoff, [{**h, "owner_id": owner} for h in company.handoffs]),
                            (Assignment, company.assignments),
                            (AppraisalScore, [{**s, "appraiser_id": owner}
                                              for s in company.scores]),
                            (Finding, company.findings)):
            for k in range(0, len(rows), CHUNK):
                session.execute(insert(table), rows[k:k + CHUNK])
        assignment_ids = list(session.scalars(select(Assignment.id).order_by(Assignment.id)))
        # Each attempt names the materials' version it was taken on: the latest hand-off.
        versions: dict[str, list[tuple[datetime, int]]] = {}
        for code, at, delivery in session.execute(
                select(Delivery.module_code, Delivery.delivered_at, Delivery.id)
                .order_by(Delivery.delivered_at)):
            versions.setdefault(code, []).append((at, delivery))
        attempts = []
        for a, taken, scores in zip(assignment_ids, company.assignments, company.attempts,
                                    strict=True):
            at = taken["completed_at"] or taken["assigned_at"]
            handed = versions[taken["module_code"]]
            version = handed[bisect.bisect_right(handed, (at, sys.maxsize)) - 1][1]
            for n, score in enumerate(scores):
                attempts.append({"assignment_id": a, "attempt_no": n + 1, "score": score,
                                 "passed": score >= 80, "taken_at": at,
                                 "delivery_id": version, "quiz_version": 1})
        for k in range(0, len(attempts), CHUNK):
            session.execute(insert(QuizAttempt), attempts[k:k + CHUNK])
        if session.get_bind().dialect.name == "postgresql":  # ids were given: move on the
            session.execute(text("SELECT setval(pg_get_serial_sequence('runs', 'id'), "
                                 "(SELECT max(id) FROM runs))"))  # sequence past them


def counts() -> dict[str, int]:
    """How many rows the tables the reports read hold."""
    from sqlalchemy import func, select

    from storage.models import (
        Assignment,
        ImportedEmployee,
        ImportedMetric,
        ImportedReward,
        ImportedTraining,
        QuizAttempt,
        Run,
    )
    from tasks.env import reading

    with reading() as session:
        return {name: session.scalar(select(func.count()).select_from(model)) or 0
                for name, model in (("employees", ImportedEmployee), ("runs", Run),
                                    ("assignments", Assignment), ("quiz_attempts", QuizAttempt),
                                    ("history", ImportedTraining), ("metrics", ImportedMetric),
                                    ("rewards", ImportedReward))}


def fill(employees: int, folder: Path, today: date,
         say: Callable[[str], None] = print) -> dict[str, float]:
    """Fill empty storage: the old system's files imported, the relay's rows inserted.
    Seconds spent per step."""
    began = time.perf_counter()
    company = plan(employees, today)
    spent = {"planned": time.perf_counter() - began}
    began = time.perf_counter()
    files = write_files(company, folder / "imports")
    spent["files written"] = time.perf_counter() - began
    spent |= import_files(files, say)
    began = time.perf_counter()
    insert_relay(company)
    spent["relay inserted"] = time.perf_counter() - began
    say(f"relay's rows inserted in {spent['relay inserted']:.1f} s: {len(company.runs)} runs, "
        f"{len(company.assignments)} assignments, "
        f"{sum(map(len, company.attempts))} quiz attempts")
    return spent
