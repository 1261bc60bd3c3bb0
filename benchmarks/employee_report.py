"""How long does one employee's report take among 10,000 employees with two years of history?

Builds SQLite storage in a temporary data directory: E imported employees (default 10,000,
through `jieli import`'s own `import_file`), each with M months (default 24) of 3 metrics,
6 modules of training history and 4 rewards or penalties; and H of them (default 50) also
hired in Jieli (a run each, every module handed off and assigned, two quizzes taken, the first
20 appraised and attributed). History, metrics and rewards are inserted in bulk, as the import
stores them (checking 720,000 rows one by one would only time the import). Then it times
`employee_report` (the page's data), the XLSX and the CSV for a sample of employees, hires and
imported-only alike, and the employee list's first page, a search and its last page.

    .venv/bin/python benchmarks/employee_report.py
    .venv/bin/python benchmarks/employee_report.py --employees 10000 --months 24 --hires 50
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from deployments.stack import free_port

METRICS = ("销售额", "客户数", "工单数")
MODULES = ("culture", "rules", "etiquette", "product-knowledge", "customer-communication",
           "proposal-writing")


def timed(call: Callable[[], Any], times: int = 1) -> float:
    """The best of `times` calls, in milliseconds."""
    best = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return 1000 * best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--hires", type=int, default=50)
    parser.add_argument("--sample", type=int, default=40)
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="jieli-report-bench-"))
    os.environ.update({
        "JIELI_DATA_DIR": str(data),
        "JIELI_PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api",  # nobody: not needed
        "JIELI_PREFECT_CONNECT_RETRIES": "0",
        "JIELI_SMTP__PORT": str(free_port()),
    })
    logging.disable(logging.WARNING)  # the deferred resumes, one warning per act
    from sqlalchemy import insert

    from deployments.cli import prepare_storage
    from storage import clock, repo
    from storage.models import ImportedMetric, ImportedReward, ImportedTraining
    from tasks.appraisal import submit_appraisal
    from tasks.attribution import attribute
    from tasks.env import get_catalog, transaction
    from tasks.handoff import open_handoff_gates
    from tasks.import_columns import Kind
    from tasks.importing import import_file
    from tasks.learning import assign_ready_modules, take_quiz
    from tasks.reports.employee import employee_report, find_employees
    from tasks.reports.export import csv_bytes, xlsx_bytes

    hr = "liu.fang@example.com"
    prepare_storage()
    catalog = get_catalog()
    t = time.monotonic()
    staff = data / "员工.csv"
    with staff.open("w", encoding="utf-8-sig") as f:
        f.write("工号,姓名,邮箱,部门,岗位,入职日期\n")
        for i in range(args.employees):
            f.write(f"E{i:05d},员工{i:05d},e{i:05d}@example.com,市场部,市场专员,"
                    f"2024-01-0{i % 9 + 1}\n")
    report = import_file(kind=Kind.EMPLOYEES, path=staff, by_email=hr, locale="zh_CN")
    print(f"{report.added} employees imported in {time.monotonic() - t:.1f}s")

    t = time.monotonic()
    now = clock.now()
    today = date.today()
    months = [f"{(today.year * 12 + today.month - 1 - k) // 12:04d}-"
              f"{(today.month - 1 - k) % 12 + 1:02d}" for k in range(args.months)]
    with transaction() as session:
        for start in range(0, args.employees, 500):
            ids = [f"E{i:05d}" for i in range(start, min(start + 500, args.employees))]
            session.execute(insert(ImportedMetric), [
                {"employee_id": e, "month": m, "metric": metric, "value": random.random() * 1e4,
                 "source_file": "指标.csv", "imported_at": now}
                for e in ids for m in months for metric in METRICS])
            session.execute(insert(ImportedTraining), [
                {"employee_id": e, "module_code": code, "completed_on": date(2024, 2, k + 1),
                 "score": 60 + k * 5, "source_file": "培训.csv", "imported_at": now}
                for e in ids for k, code in enumerate(MODULES)])
            session.execute(insert(ImportedReward), [
                {"employee_id": e, "happened_on": date(2025, k + 1, 10),
                 "kind": "reward" if k % 2 else "penalty", "note": f"第{k}次",
                 "content_hash": f"{e}-{k}", "source_file": "奖惩.csv", "imported_at": now}
                for e in ids for k in range(4)])
    rows = args.employees * (args.months * len(METRICS) + len(MODULES) + 4)
    print(f"{rows} history, metric and reward rows stored in {time.monotonic() - t:.1f}s")

    t = time.monotonic()
    runs = []
    for i in range(args.hires):
        with transaction() as session:
            hire = repo.upsert_person(session=session, name=f"员工{i:05d}",
                                      email=f"e{i:05d}@example.com")
            runs.append(repo.create_run(session=session, catalog=catalog, hire=hire,
                                        position_code="marketing-specialist",
                                        start_date=date.today() - timedelta(days=40),
                                        now=clock.now()).id)
        open_handoff_gates.fn(runs[-1])
    with transaction() as session:
        for code in catalog.positions["marketing-specialist"].modules:
            owner = repo.department(session=session, code=catalog.modules[code].owner).owner
            repo.record_delivery(session=session, module_code=code, by=owner, now=clock.now(),
                                 via="cli", items=[repo.MaterialItem(
                                     material_code=m.code, link=f"https://example.com/{m.code}")
                                     for m in catalog.modules[code].materials])
    manager = None
    for n, run_id in enumerate(runs):
        assign_ready_modules.fn(run_id)
        with transaction() as session:
            assignments = repo.assignments_of(session=session, run_id=run_id)
            manager = manager or repo.department(session=session, code="marketing").manager.id
        for code in ("culture", "customer-communication"):
            questions = catalog.modules[code].quiz.questions
            take_quiz(assignment_id=assignments[code].id, via="cli",
                      by_email=f"e{n:05d}@example.com",
                      answers={i: q.answer for i, q in enumerate(questions)})
        if n < 20 and manager is not None:
            submit_appraisal(run_id=run_id, appraiser_id=manager, via="cli", comments={},
                             scores={"scenario-simulation": {"practice": 50},
                                     "proposal-presentation": {"content": 80, "delivery": 70}})
            attribute.fn(run_id)
    print(f"{len(runs)} hires onboarded in Jieli in {time.monotonic() - t:.1f}s")

    sample = [f"E{i:05d}" for i in random.sample(range(min(args.hires, args.employees)),
                                                 min(args.sample // 2, args.hires))]
    sample += [f"E{i:05d}" for i in random.sample(range(args.hires, args.employees),
                                                  args.sample - len(sample))]
    xlsx_bytes(employee_report(sample[0], "zh_CN"))  # warm up: catalog, openpyxl
    figures: dict[str, list[float]] = {"report": [], "xlsx": [], "csv": []}
    for key in sample:
        figures["report"].append(timed(lambda k=key: employee_report(k, "zh_CN"), 3))  # type: ignore[misc]
        found = employee_report(key, "zh_CN")
        figures["xlsx"].append(timed(lambda r=found: xlsx_bytes(r), 3))  # type: ignore[misc]
        figures["csv"].append(timed(lambda r=found: csv_bytes(r), 3))  # type: ignore[misc]
    hired = employee_report(sample[0], "zh_CN")
    print(f"one employee ({len(hired.training)} training rows, {len(hired.work.months)} months,"
          f" {len(hired.rewards)} rewards), over {len(sample)} employees, best of 3 each:")
    result: dict[str, Any] = {"benchmark": "employee_report", "employees": args.employees,
                              "months": args.months, "hires": args.hires}
    for name, values in figures.items():
        result[name] = {"median_ms": round(statistics.median(values), 1),
                        "max_ms": round(max(values), 1)}
        print(f"  {name}: median {statistics.median(values):.1f} ms, max {max(values):.1f} ms")
    pages = -(-args.employees // 50)
    for name, call in (("list, first page", lambda: find_employees("", 1, "zh_CN")),
                       ("list, search by name", lambda: find_employees("员工0123", 1, "zh_CN")),
                       ("list, last page", lambda: find_employees("", pages, "zh_CN"))):
        result[name] = round(timed(call, 3), 1)
        print(f"  {name}: {result[name]:.1f} ms")
    load = os.getloadavg()[0]
    print(f"load average (1 min) at the end: {load:.1f} on {os.cpu_count()} cores "
          f"(data in {data})")
    result["load_average"] = round(load, 1)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
