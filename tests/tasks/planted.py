"""Old-system spreadsheets with a planted training effect, imported through `jieli import`'s
own function: employees, the training history of completers and their monthly figures.

Every employee has a level of their own (about 10 000 a month, σ 3 %) and each month's figure
scatters around it (σ 5 %, seeded); a completer's figures in the months after their completion
month are `effect` times their level. So the effect is known by construction, and the noise
is what the report must see through.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from tasks.import_columns import Kind

HR = "liu.fang@example.com"
MODULE = "customer-communication"  # 客户沟通
METRIC = "销售额"


@dataclass(frozen=True)
class Employee:
    employee_id: str
    email: str
    completed_on: date | None  # of MODULE, in the old system's history


def months(first: str, count: int) -> list[str]:
    year, month = map(int, first.split("-"))
    found = []
    for _ in range(count):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def write(path: Path, rows: list[list[object]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def plant(folder: Path, *, completers: int, others: int, effect: float, seed: int = 11,
          completers_months: list[str] | None = None, others_months: list[str] | None = None,
          metric: str = METRIC, import_them: bool = True) -> list[Employee]:
    """Write and import employees, history and figures; completers complete MODULE on a day
    between their third and tenth month, so each has months before and after."""
    rng = random.Random(seed)
    completers_months = completers_months or months("2024-01", 12)
    others_months = others_months or completers_months
    people: list[Employee] = []
    figures: list[list[object]] = [["工号", "月份", "指标", "数值"]]
    for i in range(completers + others):
        completer = i < completers
        span = completers_months if completer else others_months
        done_month = span[rng.randrange(2, min(10, len(span) - 1))] if completer else None
        done = date(*map(int, done_month.split("-")), rng.randint(1, 28)) if done_month \
            else None
        person = Employee(f"E{i:05d}", f"e{i:05d}@example.com", done)
        people.append(person)
        level = 10_000 * rng.gauss(1, 0.03)
        for month in span:
            factor = effect if done_month and month > done_month else 1.0
            figures.append([person.employee_id, month, metric,
                            round(level * factor * rng.gauss(1, 0.05), 2)])
    staff = [["工号", "姓名", "邮箱", "部门", "岗位", "入职日期"]] + [
        [p.employee_id, f"员工{p.employee_id}", p.email, "市场部", "市场专员", "2023-06-01"]
        for p in people]
    history = [["工号", "模块", "完成日期", "成绩"]] + [
        [p.employee_id, "客户沟通", p.completed_on.isoformat(), 90]
        for p in people if p.completed_on]
    files = [(Kind.EMPLOYEES, write(folder / "员工.csv", staff)),
             (Kind.HISTORY, write(folder / "培训记录.csv", history)),
             (Kind.METRICS, write(folder / "月度指标.csv", figures))]
    if import_them:
        from tasks.importing import import_file

        for kind, path in files:
            report = import_file(kind=kind, path=path, by_email=HR, locale="en")
            assert report.written and not report.problems, (path, report.problems[:3])
    return people
