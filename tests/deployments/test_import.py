"""`jieli import`: moving in from the old system's spreadsheets, as HR runs it.

Each test writes its own files the way Chinese Excel saves them (CSV UTF-8 with a BOM, CSV in
GB18030, XLSX) into a fresh installation (`forms`: migrated SQLite, the default catalog).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner, Result

from tests.forms.conftest import Forms, forms  # noqa: F401  (the fixture, for this module)
from tests.installation import Configure

HR = "liu.fang@example.com"
MARKETING_OWNER = "li.na@example.com"
ROWS = 10_000
ZH = ["工号", "姓名", "邮箱", "部门", "岗位", "入职日期"]
EN = ["employee_id", "name", "email", "department", "position", "hired_on"]
# Planted mistakes: the file's line (the heading is line 1) -> (column index, bad value).
BAD = {101: (2, "zhang.wei at example.com"), 5002: (3, "财务部"), 10_001: (5, "2024/13/5")}


def cli(*args: str | Path) -> Result:
    from deployments.cli import app

    return CliRunner().invoke(app, ["--as", HR, *map(str, args)])


def employee(i: int, excel_dates: bool = False) -> list:
    """The i-th employee as the old system lists them, in the catalog's words, not codes."""
    department, position = [("市场部", "市场专员"), ("Technology", "python-developer"),
                             ("marketing", "Marketing specialist")][i % 3]
    hired: object = date(2024, 3, 5) if excel_dates else ("2024/3/5" if i % 2 else "2024-03-05")
    return [f"E{i:05d}", f"员工{i}", f"e{i}@example.com", department, position, hired]


def employees(excel_dates: bool = False) -> list[list]:
    rows = [employee(i, excel_dates) for i in range(ROWS)]
    for line, (column, value) in BAD.items():
        rows[line - 2][column] = value
    return rows


def write_csv(path: Path, headings: list[str], rows: list[list], encoding: str) -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows([headings, *rows])
    return path


def write_xlsx(path: Path, headings: list[str], rows: list[list]) -> Path:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in [headings, *rows]:
        sheet.append(row)
    book.save(path)
    return path


def stored(forms: Forms, table: str = "imported_employees") -> list[tuple]:  # noqa: F811
    return forms.sql(f"select * from {table} order by id")


def imports_audited(forms: Forms) -> list[tuple]:  # noqa: F811
    return forms.sql("select actor, object_id, via from audit_log where action = 'import'")


def problems(result: Result) -> list[str]:
    return [line for line in result.output.splitlines()
            if line.startswith(("line ", "第 "))]


EXPECTED = {
    "en": ["line 101: {email}: zhang.wei at example.com is not an email address like "
           "zhang.wei@example.com",
           "line 5002: {department}: 财务部 is not a department of the catalog (Human "
           "Resources, Marketing, Technology)",
           "line 10001: {hired_on}: 2024/13/5 is not a date like 2026-03-05 or 2026/3/5"],
    "zh_CN": ["第 101 行：{email}：“zhang.wei at example.com”不是电子邮箱地址，应像 "
              "zhang.wei@example.com 这样",
              "第 5002 行：{department}：“财务部”不是目录中的部门（人力资源部、市场部、技术部）",
              "第 10001 行：{hired_on}：“2024/13/5”不是日期，应写成 2026-03-05 或 2026/3/5"],
}


def _utf8_bom(tmp: Path) -> Path:
    return write_csv(tmp / "employees.csv", EN, employees(), "utf-8-sig")


def _gb18030(tmp: Path) -> Path:
    return write_csv(tmp / "员工.csv", ZH, employees(), "gb18030")


def _xlsx(tmp: Path) -> Path:
    # 工号 as Excel numbers would not be E-prefixed; dates as Excel date cells.
    return write_xlsx(tmp / "员工.xlsx", ZH, employees(excel_dates=True))


@pytest.mark.parametrize(("write", "headings", "locale"), [
    (_utf8_bom, EN, "en"), (_gb18030, ZH, "zh_CN"), (_xlsx, ZH, "en")],
    ids=["csv-utf8-bom", "csv-gb18030", "xlsx"])
def test_ten_thousand_employees_with_three_bad_rows(
        forms: Forms, tmp_path: Path, configure: Configure,  # noqa: F811
        write: Callable[[Path], Path], headings: list[str], locale: str):
    configure(default_locale=locale)
    path = write(tmp_path)
    columns = dict(zip(EN, headings, strict=True))
    expected = [e.format(**columns) for e in EXPECTED[locale]]

    dry = cli("import", "employees", path, "--dry-run")
    assert dry.exit_code == 1, dry.output
    assert problems(dry) == expected
    assert stored(forms) == []

    real = cli("import", "employees", path)
    assert real.exit_code == 1 and problems(real) == expected
    assert stored(forms) == [] and imports_audited(forms) == []

    skipping = cli("import", "employees", path, "--skip-bad")
    assert skipping.exit_code == 0, skipping.output
    assert problems(skipping) == expected
    assert forms.sql("select count(*) from imported_employees") == [(ROWS - 3,)]
    assert forms.sql("select department, position, hired_on from imported_employees "
                     "where employee_id = 'E00004'") == [
        ("technology", "python-developer", "2024-03-05")]
    assert not forms.sql("select 1 from imported_employees where employee_id in "
                         "('E00099', 'E05000', 'E09999')")
    before = stored(forms)

    again = cli("import", "employees", path, "--skip-bad")
    assert again.exit_code == 0 and stored(forms) == before
    assert imports_audited(forms) == [(HR, "employees", "cli")]
    assert str(ROWS - 3) in again.output


def test_a_changed_row_updates_the_employee_and_says_so(forms: Forms,  # noqa: F811
                                                        tmp_path: Path,
                                                        configure: Configure):
    configure(default_locale="en")
    rows = [employee(i) for i in range(3)]
    first = cli("import", "employees", write_csv(tmp_path / "a.csv", EN, rows, "utf-8"))
    assert first.exit_code == 0 and "3 added, 0 updated, 0 already there" in first.output
    rows[1][3] = "人力资源部"
    second = cli("import", "employees", write_csv(tmp_path / "b.csv", EN, rows, "utf-8"))
    assert second.exit_code == 0 and "0 added, 1 updated, 2 already there" in second.output
    assert forms.sql("select department, source_file from imported_employees "
                     "where employee_id = 'E00001'") == [("hr", "b.csv")]


def test_a_missing_column_a_repeated_id_and_who_may_import(forms: Forms,  # noqa: F811
                                                           tmp_path: Path,
                                                           configure: Configure):
    configure(default_locale="en")
    no_email = write_csv(tmp_path / "a.csv", ["工号", "姓名", "部门", "岗位", "入职日期"],
                         [["E1", "张伟", "市场部", "市场专员", "2024-03-05"]], "utf-8")
    result = cli("import", "employees", no_email, "--skip-bad")
    assert result.exit_code == 1
    assert problems(result) == [
        "line 1: 邮箱/email: column missing: the first line names the columns"]
    assert "nothing was changed" in " ".join(result.output.split())
    twice = write_csv(tmp_path / "b.csv", EN, [employee(1), employee(2), employee(1)], "utf-8")
    result = cli("import", "employees", twice, "--dry-run")
    assert result.exit_code == 1
    assert problems(result) == ["line 4: employee_id: the same employee_id as line 2"]
    # What a cell holds is quoted back, but never drives the terminal (an escape sequence).
    sneaky = employee(3)
    sneaky[3] = "\x1b[2J财务部"
    result = cli("import", "employees", write_csv(tmp_path / "c.csv", EN, [sneaky], "utf-8"))
    assert "\x1b" not in result.output
    assert problems(result) == ["line 2: department: \\u001b[2J财务部 is not a department of "
                                "the catalog (Human Resources, Marketing, Technology)"]

    from deployments.cli import app

    refused = CliRunner().invoke(app, ["--as", MARKETING_OWNER, "import", "employees",
                                       str(twice)])
    assert refused.exit_code == 2 and "may not import" in refused.output
    assert stored(forms) == []


def test_history_metrics_and_rewards_of_imported_employees(forms: Forms,  # noqa: F811
                                                           tmp_path: Path,
                                                           configure: Configure):
    configure(default_locale="en")
    assert cli("import", "employees", write_csv(
        tmp_path / "e.csv", ZH, [employee(i) for i in range(3)], "gb18030")).exit_code == 0

    history = write_csv(tmp_path / "h.csv", ["工号", "模块", "完成日期", "成绩"], [
        ["E00000", "企业文化", "2025/3/5", "85"],
        ["E00000", "customer-communication", "2025-04-01", ""],
        ["E00009", "企业文化", "2025-03-05", "90"],
        ["E00001", "Company culture", "2025-03-05", "101"],
        ["E00001", "财务制度", "2025-03-05", "70"],
        ["E00000", "culture", "2025-3-5", "86"]], "gb18030")
    result = cli("import", "history", history, "--skip-bad")
    assert result.exit_code == 0, result.output
    assert problems(result) == [
        "line 4: 工号: E00009 is not an imported employee: import the employees file first",
        "line 5: 成绩: 101 is not a score: a whole number from 0 to 100",
        "line 6: 模块: 财务制度 is not a module of the catalog (" + forms_modules() + ")",
        "line 7: 工号: the same 工号, 模块, 完成日期 as line 2"]
    assert forms.sql("select employee_id, module_code, completed_on, score, source_file "
                     "from imported_training order by id") == [
        ("E00000", "culture", "2025-03-05", 85, "h.csv"),
        ("E00000", "customer-communication", "2025-04-01", None, "h.csv")]
    # The hire's training record shows it, marked as imported, beside Jieli's own training.
    from tasks.attribution import record_link

    run_id = forms.start_run(email="e0@example.com")
    link = record_link(person_id=forms.person_id(HR), run_id=run_id)
    record = forms.client.get(link.split("://", 1)[1].split("/", 1)[1].join(["/", ""]))
    assert record.status_code == 200
    earlier = record.text.split("以往培训（从旧系统导入）")[1]  # HR reads Chinese
    assert "企业文化 · 2025年3月5日（周三）完成 · 成绩 85 分" in earlier
    assert "客户沟通 · 2025年4月1日（周二）完成" in earlier and "（导入自 h.csv）" in earlier

    # Above the headings, a title row and a blank one, as many exports have.
    metrics = write_xlsx(tmp_path / "m.xlsx", ["2026年一季度业绩"], [
        [], ["工号", "月份", "指标", "数值"],
        ["E00000", "2026-3", "销售额", "1,234.5"],
        [None, " ", None, ""],  # a blank row is left out, and still counts as a line
        ["E00000", date(2026, 4, 1), "销售额", 2000],
        ["E00001", "2026-13", "销售额", "3"],
        ["E00001", "2026-03", "销售额", "很多"]])
    result = cli("import", "metrics", metrics)
    assert result.exit_code == 1 and problems(result) == [
        "line 7: 月份: 2026-13 is not a month like 2026-03",
        "line 8: 数值: 很多 is not a number"]
    assert stored(forms, "imported_metrics") == []
    assert cli("import", "metrics", metrics, "--skip-bad").exit_code == 0
    assert forms.sql("select month, metric, value from imported_metrics order by month") == [
        ("2026-03", "销售额", 1234.5), ("2026-04", "销售额", 2000.0)]

    # A note over two lines: the next row is still told by the file's own line number.
    rewards = write_csv(tmp_path / "r.csv", ["employee_id", "date", "kind", "note"], [
        ["E00000", "2025-06-01", "奖励", "季度销售冠军\n（第二季度）"],
        ["E00001", "2025年6月2日", "penalty", ""],
        ["E00002", "2025-06-03", "表扬", "客户来信"]], "utf-8-sig")
    result = cli("import", "rewards", rewards, "--skip-bad")
    assert result.exit_code == 0
    assert problems(result) == ["line 5: kind: 表扬 is neither 奖励/reward nor 惩罚/penalty"]
    before = stored(forms, "imported_rewards")
    assert [(r[1], r[2], r[3]) for r in before] == [("E00000", "2025-06-01", "reward"),
                                                     ("E00001", "2025-06-02", "penalty")]
    assert cli("import", "rewards", rewards, "--skip-bad").exit_code == 0
    assert stored(forms, "imported_rewards") == before


def forms_modules() -> str:
    from tasks.env import get_catalog

    return ", ".join(m.title.en for m in get_catalog().modules.values())


def test_a_file_that_is_no_spreadsheet_is_refused_plainly(forms: Forms,  # noqa: F811
                                                          tmp_path: Path,
                                                          configure: Configure):
    configure(default_locale="en")
    latin = tmp_path / "old.xlsx"
    latin.write_bytes(b"\xff\xfe not a workbook")
    result = cli("import", "employees", latin)
    assert result.exit_code == 1
    assert "not an XLSX workbook (File is not a zip file)" in " ".join(result.output.split())
    unknown = tmp_path / "old.csv"
    unknown.write_bytes("工号,姓名\n".encode("utf-16"))
    result = cli("import", "employees", unknown)
    assert result.exit_code == 1
    assert "neither UTF-8 nor GB18030" in " ".join(result.output.split())
    assert stored(forms) == []
