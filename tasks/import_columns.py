"""What each kind of file `jieli import` reads holds: its columns, the Chinese and English
headings that name them, and the columns that make a row the same row. Plain data, so the
CLI can offer the kinds without loading storage."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    EMPLOYEES = "employees"
    HISTORY = "history"
    METRICS = "metrics"
    REWARDS = "rewards"


# Each kind's fields and the headings that name them, Chinese first.
COLUMNS: dict[Kind, dict[str, tuple[str, ...]]] = {
    Kind.EMPLOYEES: {"employee_id": ("工号", "employee_id"), "name": ("姓名", "name"),
                     "email": ("邮箱", "email"), "department": ("部门", "department"),
                     "position": ("岗位", "position"), "hired_on": ("入职日期", "hired_on")},
    Kind.HISTORY: {"employee_id": ("工号", "employee_id"), "module": ("模块", "module"),
                   "completed_on": ("完成日期", "completed_on"), "score": ("成绩", "score")},
    Kind.METRICS: {"employee_id": ("工号", "employee_id"), "month": ("月份", "month"),
                   "metric": ("指标", "metric"), "value": ("数值", "value")},
    Kind.REWARDS: {"employee_id": ("工号", "employee_id"), "happened_on": ("日期", "date"),
                   "kind": ("类型", "kind"), "note": ("说明", "note")},
}
# Fields a file may leave out or leave empty: a completion without a score, a bare reward.
OPTIONAL = {"score", "note"}
# The fields that make a row the same row (a second one in a file is a mistake).
KEYS: dict[Kind, tuple[str, ...]] = {
    Kind.EMPLOYEES: ("employee_id",), Kind.HISTORY: ("employee_id", "module", "completed_on"),
    Kind.METRICS: ("employee_id", "month", "metric"),
    Kind.REWARDS: ("employee_id", "happened_on", "kind", "note")}
