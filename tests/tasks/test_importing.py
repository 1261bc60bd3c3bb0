"""Importing on SQLite and PostgreSQL: the bulk inserts and updates keep the old system's keys,
so a second import changes nothing and a changed row is updated in place."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import get_engine
from tasks.import_columns import Kind
from tests.installation import ready_storage

HR = "liu.fang@example.com"


@pytest.fixture
def storage(database_url: str, tmp_path: Path) -> Iterator[str]:
    with ready_storage(tmp_path, database_url):
        yield database_url


def rows(url: str, query: str) -> list[tuple]:
    with get_engine(url).connect() as c:
        return [tuple(r) for r in c.execute(text(query))]


def test_a_second_import_changes_nothing_and_a_changed_row_updates(storage: str,
                                                                   tmp_path: Path):
    from tasks.importing import import_file

    def run(kind: Kind, name: str, content: str):
        path = tmp_path / name
        path.write_text(content, encoding="utf-8-sig")
        return import_file(kind=kind, path=path, by_email=HR, locale="en")

    staff = ("工号,姓名,邮箱,部门,岗位,入职日期\n"
             "E1,张伟,zhang.wei@example.com,市场部,市场专员,2024/3/5\n"
             "E2,王芳,wang.fang@example.com,technology,Python开发工程师,2024-04-01\n")
    first = run(Kind.EMPLOYEES, "a.csv", staff)
    assert (first.added, first.updated, first.unchanged, first.problems) == (2, 0, 0, [])
    again = run(Kind.EMPLOYEES, "a.csv", staff)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    moved = run(Kind.EMPLOYEES, "b.csv", staff.replace("technology", "hr"))
    assert (moved.added, moved.updated, moved.unchanged) == (0, 1, 1)
    assert rows(storage, "select employee_id, department, source_file from imported_employees "
                         "order by employee_id") == [("E1", "marketing", "a.csv"),
                                                     ("E2", "hr", "b.csv")]

    figures = "工号,月份,指标,数值\nE1,2026-03,销售额,100\nE2,2026-03,销售额,50.5\n"
    assert run(Kind.METRICS, "m.csv", figures).added == 2
    revised = run(Kind.METRICS, "m2.csv", figures.replace("50.5", "60"))
    assert (revised.added, revised.updated, revised.unchanged) == (0, 1, 1)
    assert rows(storage, "select employee_id, value from imported_metrics order by id") == [
        ("E1", 100.0), ("E2", 60.0)]
    assert rows(storage, "select count(*) from audit_log where action = 'import'") == [(4,)]
