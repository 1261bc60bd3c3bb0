"""How fast is `jieli report effectiveness`? 10 000 employees with monthly figures for two
years, half of them completers of one module (imported history), on real storage.

Fills a fresh SQLite file (or the PostgreSQL database given) with bulk inserts, then times
`tasks.reports.effectiveness.effectiveness` (the function the CLI, the page and the weekly
report call) against hand-written SQL computing the same figures (in the two fastest forms
found: one is SQLite's best, the other PostgreSQL's), and against a minimal one-level query
(the two group means only, a floor). Prints the median of N runs of each: wall time, and
this process's CPU time (SQLite works inside it; on a shared machine the steadier figure).

    .venv/bin/python benchmarks/effectiveness.py
    .venv/bin/python benchmarks/effectiveness.py --employees 10000 --months 24 --repeat 7
    .venv/bin/python benchmarks/effectiveness.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import insert, text

MODULE, METRIC = "customer-communication", "销售额"

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

# The same figures as the function, written by hand in the two fastest forms found. By index
# (fastest on SQLite): per-employee month ranges from the covering index, totals from one
# plain scan, the completers' figures by index range; the others' sums are the totals less
# the completers'.
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
SELECT * FROM
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

# In one pass (fastest on PostgreSQL, which hash-joins): every figure joined to its
# employee's completion, summed per employee, then per group.
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


def months(count: int) -> list[str]:
    return [f"{2024 + i // 12:04d}-{i % 12 + 1:02d}" for i in range(count)]


def fill(url: str, employees: int, span: list[str]) -> None:
    from storage.db import get_engine
    from storage.models import ImportedEmployee, ImportedMetric, ImportedTraining

    rng = random.Random(7)
    now = datetime.now(UTC)
    staff, history, figures = [], [], []
    for i in range(employees):
        eid = f"E{i:06d}"
        staff.append({"employee_id": eid, "name": f"员工{i}", "email": f"e{i}@example.com",
                      "department": "marketing", "position": "marketing-specialist",
                      "hired_on": date(2023, 6, 1), "source_file": "bench",
                      "imported_at": now})
        done = span[rng.randrange(2, len(span) - 2)] if i % 2 == 0 else None
        if done:
            history.append({"employee_id": eid, "module_code": MODULE, "score": 90,
                            "completed_on": date(*map(int, done.split("-")), 15),
                            "source_file": "bench", "imported_at": now})
        level = 10_000 * rng.gauss(1, 0.05)
        for month in span:
            figures.append({"employee_id": eid, "month": month, "metric": METRIC,
                            "value": level * (1.3 if done and month > done else 1.0),
                            "source_file": "bench", "imported_at": now})
    with get_engine(url).begin() as c:
        for model, rows in ((ImportedEmployee, staff), (ImportedTraining, history),
                            (ImportedMetric, figures)):
            for start in range(0, len(rows), 5000):
                c.execute(insert(model), rows[start:start + 5000])
    if url.startswith("postgresql"):  # what autovacuum does soon after an import
        with get_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("ANALYZE"))


def median_seconds(repeat: int, run: object) -> tuple[float, float]:
    """Median wall time and median CPU time of this process (SQLite's work is in it; on a
    shared machine the CPU time is the steadier figure)."""
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        run()  # type: ignore[operator]
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="jieli-bench-") as folder:
        measure(Path(folder))


def measure(folder: Path) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url", help="an empty database (default: a new SQLite file)")
    args = parser.parse_args()

    url = args.database_url or f"sqlite:///{folder / 'jieli.db'}"
    os.environ.update(JIELI_DATA_DIR=str(folder), JIELI_DATABASE_URL=url)

    from storage import repo
    from storage.db import get_engine, session_scope, upgrade
    from tasks.env import get_catalog, reading
    from tasks.reports.effectiveness import effectiveness

    upgrade(url)
    with session_scope(url) as session:
        repo.sync_catalog(session=session, catalog=get_catalog())
    started = time.perf_counter()
    fill(url, args.employees, months(args.months))
    print(f"{url.split(':')[0]}: {args.employees} employees × {args.months} months = "
          f"{args.employees * args.months} figures, stored in "
          f"{time.perf_counter() - started:.1f} s")

    def report() -> None:
        with reading() as session:
            found = effectiveness(session=session, module=MODULE, metric=METRIC, locale="zh_CN")
        assert found.completed_n > 0

    def sql(query: str) -> None:
        with get_engine(url).connect() as c:
            c.execute(text(query), {"module": MODULE, "metric": METRIC}).all()

    report()  # the first call loads the catalog and warms the caches
    found_s = median_seconds(args.repeat, report)
    timed = [("effectiveness()", found_s),
             ("by hand, by index", median_seconds(args.repeat, lambda: sql(BY_INDEX))),
             ("by hand, one pass", median_seconds(args.repeat, lambda: sql(ONE_PASS))),
             ("minimal SQL", median_seconds(args.repeat, lambda: sql(MINIMAL)))]
    print(f"median of {args.repeat}        wall ms  cpu ms   (ratio of effectiveness() to it)")
    for name, (wall, cpu) in timed:
        print(f"{name:20s} {wall * 1000:8.1f} {cpu * 1000:7.1f}   "
              f"{found_s[0] / wall:.2f} wall, {found_s[1] / max(cpu, 1e-6):.2f} cpu")


if __name__ == "__main__":
    main()
