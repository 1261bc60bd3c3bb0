"""The employee report HR and the boss read: a hire's relay played on real storage and the old
system's spreadsheets imported for the same person (same address), read as a page, as XLSX
and as CSV, behind the HR session; in Debian's chromium on a desktop and a phone."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from storage import clock
from tasks.dates import local_date
from tasks.env import get_catalog
from tasks.import_columns import Kind
from tests.forms.conftest import Forms
from tests.forms.relay import APPRAISER, HIRE, HR, MARKETING_OWNER, assignment_of, play_relay
from tests.installation import ready_storage
from tests.security.conftest import serving, sign_in
from tests.visible_text import Reading, visible

SHOTS = Path("test-artifacts/screenshots")
OTHER_HIRE = "li.lei@example.com"
TECH_OWNER = "wang.lei@example.com"
FILLERS = 60  # imported employees beyond the two the tests read: the list takes two pages

EMPLOYEES = ("工号,姓名,邮箱,部门,岗位,入职日期\n"
             f"E1001,张伟,{HIRE},市场部,市场专员,2024/3/5\n"
             "E1002,王芳,wang.fang@example.com,technology,Python开发工程师,2023-07-01\n"
             + "".join(f"F{i:03d},员工{i:03d},filler{i:03d}@example.com,hr,市场专员,2025-01-02\n"
                       for i in range(FILLERS)))
HISTORY = "工号,模块,完成日期,成绩\nE1001,企业文化,2024/3/8,88\nE1001,规章制度,2024-03-09,\n"
METRICS = ("工号,月份,指标,数值\nE1001,2026-01,销售额,100\nE1001,2026-01,客户数,7\n"
           "E1001,2026-02,销售额,\"1,234.5\"\nE1001,2026-02,客户数,9\n"
           "E1002,2026-02,销售额,555\n")
REWARDS = ("工号,日期,类型,说明\nE1001,2026-02-14,奖励,季度之星\nE1001,2026-03-02,惩罚,迟到\n"
           "E1001,2026-03-20,奖励,=1+1\n")


@dataclass
class Scene:
    forms: Forms
    run_id: int
    hr_cookie: str


def _import(tmp: Path, kind: Kind, name: str, content: str) -> None:
    from tasks.importing import import_file

    path = tmp / name
    path.write_text(content, encoding="utf-8-sig")
    report = import_file(kind=kind, path=path, by_email=HR, locale="zh_CN")
    assert report.problems == [] and report.written, report.problems


@pytest.fixture(scope="module")
def scene(module_forms: Forms, tmp_path_factory: pytest.TempPathFactory) -> Scene:
    """张伟: a marketing specialist who joined 40 days ago, failed a quiz once and passed it,
    handed in his proposal (graded), failed the appraisal (findings attributed); and, as E1001
    in the old system, two modules of training, two months of figures, rewards and a penalty.
    王芳 (E1002) is only imported; 李雷 is only a hire, just started, coached once."""
    from tasks.attribution import attribute
    from tasks.handoff import deliver_materials, open_handoff_gates
    from tasks.learning import assign_ready_modules, take_quiz
    from tasks.practice import (
        HandIn,
        answer_session,
        grade_submission,
        open_practice_legs,
        record_session,
        submit_work,
    )
    from tasks.runs import start_onboarding

    forms = module_forms
    run_id = play_relay(forms, local_date(clock.now()) - timedelta(days=40))
    questions = get_catalog().modules["customer-communication"].quiz.questions
    assignment = assignment_of(forms, run_id, "customer-communication")
    for right in (7, 10):  # 70, below the pass mark, then 100
        take_quiz(assignment_id=assignment, via="cli", by_email=HIRE,
                  answers={i: q.answer if i < right else (q.answer + 1) % len(q.choices)
                           for i, q in enumerate(questions)})
    # The proposal's hand-in, graded below the mark in logic, before the appraisal closes it.
    open_practice_legs.fn(run_id)
    submit_work(run_id=run_id, module_code="proposal-writing", via="cli", by_email=HIRE,
                hand_in=HandIn(link="https://docs.example.com/proposal"))
    (submission,) = forms.sql("select id from submissions where run_id = :r", r=run_id)[0]
    grade_submission(submission_id=submission, comments={}, via="cli", by_email=MARKETING_OWNER,
                     scores={"format": 70, "content": 80, "logic": 50})
    token = forms.token("appraise", APPRAISER, str(run_id))
    answer = forms.client.post(f"/appraise/{run_id}?t={token}", data={
        "score-scenario-simulation-practice": "40", "score-proposal-presentation-content": "80",
        "score-proposal-presentation-delivery": "40"})
    assert answer.status_code == 200, answer.text
    attribute.fn(run_id)
    other = start_onboarding(name="李雷", email=OTHER_HIRE, position="python-developer",
                             start=local_date(clock.now()) + timedelta(days=3), by_email=HR,
                             via="cli").run_id
    # 李雷's Python basics: materials handed off, two coaching sessions recorded, one of them
    # confirmed by him (90 minutes), the other disputed (it never counts).
    open_handoff_gates.fn(other)
    deliver_materials(module_code="python-basics", by_email=TECH_OWNER, via="cli")
    assign_ready_modules.fn(other)
    open_practice_legs.fn(other)
    for minutes, topic, confirmed in ((90, "环境搭建", True), (30, "代码评审", False)):
        given = record_session(run_id=other, module_code="python-basics", minutes=minutes,
                               held_on=local_date(clock.now()), topic=topic, notes="",
                               via="cli", by_email=TECH_OWNER)
        answer_session(session_id=given, confirmed=confirmed, comment="", via="cli",
                       by_email=OTHER_HIRE)

    tmp = tmp_path_factory.mktemp("old-system")
    _import(tmp, Kind.EMPLOYEES, "员工.csv", EMPLOYEES)
    _import(tmp, Kind.HISTORY, "history.csv", HISTORY)
    _import(tmp, Kind.METRICS, "metrics.csv", METRICS)
    _import(tmp, Kind.REWARDS, "rewards.csv", REWARDS)
    return Scene(forms, run_id, sign_in(forms, HR))


class Tables(HTMLParser):
    """The page's tables as their readers see them: by id, the headings and each row's cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, tuple[list[str], list[list[str]]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id", "")
            self.tables[self._table] = ([], [])
        elif tag == "tr" and self._table is not None:
            self.tables[self._table][1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            headings, rows = self.tables[self._table]
            text = " ".join(" ".join(self._cell).split())
            (headings if tag == "th" else rows[-1]).append(text)
            self._cell = None
        elif tag == "table":
            headings, rows = self.tables[self._table or ""]
            self.tables[self._table or ""] = (headings, [r for r in rows if r])
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def page_tables(html: str) -> dict[str, tuple[list[str], list[list[str]]]]:
    parser = Tables()
    parser.feed(html)
    return {name.removeprefix("table-"): table for name, table in parser.tables.items()}


NUMBER = re.compile(r"\d+(?:\.\d+)?")


def numbers(text: str) -> list[float]:
    """The numbers a reader reads in a cell: 1,234.5 is one number; 70、100 are two."""
    return [float(x) for x in NUMBER.findall(re.sub(r"(?<=\d),(?=\d{3})", "", text))]


def column(table: tuple[list[str], list[list[str]]], heading: str) -> list[str]:
    headings, rows = table
    return [row[headings.index(heading)] for row in rows]


def test_hr_reads_training_appraisal_work_and_rewards_on_one_page(scene: Scene):
    client = scene.forms.client
    page = client.get("/hr/employees/E1001")
    assert page.status_code == 200, page.text
    text = visible(page.text)
    assert "员工报告：张伟" in text and "工号 E1001" in text and HIRE in text
    assert "奖励 2 次 · 惩罚 1 次" in text and "试用期考核未通过" in text
    assert Reading({"employee report": text}).problems("zh_CN") == {}
    # Asked by address, it is the same person and the same report.
    assert visible(client.get(f"/hr/employees/{HIRE}").text) == text

    tables = page_tables(page.text)
    training = dict(zip(column(tables["training"], "模块"), tables["training"][1], strict=True))
    heads = tables["training"][0]
    communication = dict(zip(heads, training["客户沟通"], strict=True))
    assert (communication["测验次数"], communication["各次成绩"], communication["最高分"],
            communication["状态"]) == ("2", "70、100", "100", "测验已通过")
    assert communication["来源"] == "接力入职" and "月" in communication["资料交接日期"]
    culture = dict(zip(heads, training["企业文化"], strict=True))  # imported, and marked so
    assert (culture["来源"], culture["最高分"], culture["状态"]) == (
        "导入：history.csv", "88", "已完成（导入）")
    assert culture["完成日期"].startswith("2024年3月8日")
    assert training["规章制度"][heads.index("来源")] == "导入：history.csv"
    assert training["方案撰写"][heads.index("作业评分")] == "格式 70、内容 80、逻辑 50"
    assert "尚未分配" in column(tables["training"], "状态")  # a module still waiting
    assert "学习时长" in text  # hours: said to be unrecorded, not made up

    assert sorted(column(tables["appraisal"], "分数")) == ["40", "40", "80"]
    assert set(column(tables["appraisal"], "结果")) == {"未达及格线", "通过"}
    assert "表达能力不足" in column(tables["findings"], "原因")

    work = tables["work"]
    assert work[0] == ["月份", "销售额", "客户数"]
    assert work[1] == [["2026年1月", "100", "7"], ["2026年2月", "1,234.5", "9"]]
    assert column(tables["rewards"], "说明") == ["季度之星", "迟到", "=1+1"]
    assert column(tables["rewards"], "类别") == ["奖励", "惩罚", "奖励"]


def test_the_xlsx_holds_the_numbers_and_days_the_page_shows(scene: Scene):
    client = scene.forms.client
    tables = page_tables(client.get("/hr/employees/E1001").text)
    answer = client.get("/hr/employees/E1001.xlsx")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert quote("员工报告-张伟.xlsx") in answer.headers["content-disposition"]
    assert answer.headers["cache-control"] == "no-store"
    workbook = load_workbook(io.BytesIO(answer.content))
    assert workbook.sheetnames == ["员工", "培训记录", "试用期考核", "考核原因分析", "工作业绩",
                                   "奖惩"]
    sheets = dict(zip(["employee", "training", "appraisal", "findings", "work", "rewards"],
                      workbook.worksheets, strict=True))
    assert [c.value for c in sheets["employee"][2]][:3] == ["张伟", "E1001", HIRE]
    compared = 0
    for name, (headings, rows) in tables.items():
        sheet = [list(r) for r in sheets[name].iter_rows(values_only=True)]
        assert sheet[0] == headings, name
        assert len(sheet) - 1 == len(rows), name
        for row, cells in zip(rows, sheet[1:], strict=True):
            for shown, value in zip(row, cells, strict=True):
                if isinstance(value, datetime):  # a date cell: the day the page names
                    day = f"{value.month}月" if name == "work" else \
                        f"{value.month}月{value.day}日"
                    assert day in shown, (name, shown, value)
                else:
                    assert numbers(shown) == numbers("" if value is None else str(value)), \
                        (name, shown, value)
                    compared += bool(numbers(shown))
    assert compared >= 20
    # Numbers are numbers, days are days, and text is never a formula.
    training = {r[0]: r for r in sheets["training"].iter_rows(min_row=2, values_only=True)}
    assert training["客户沟通"][6:9] == (2, "70、100", 100)
    assert training["企业文化"][5] == datetime(2024, 3, 8)
    work = list(sheets["work"].iter_rows(min_row=2, values_only=True))
    assert work[1] == (datetime(2026, 2, 1), 1234.5, 9)
    assert sheets["rewards"]["C4"].value == "=1+1" and sheets["rewards"]["C4"].data_type == "s"


def test_the_csv_is_utf8_with_a_bom_one_part_after_another(scene: Scene):
    answer = scene.forms.client.get("/hr/employees/E1001.csv")
    assert answer.status_code == 200 and answer.content.startswith(b"\xef\xbb\xbf")
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert answer.headers["cache-control"] == "no-store"
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["部分", "姓名", "工号", "邮箱"]
    parts = [r[0] for r in rows if r]
    assert parts.count("部分") == 6  # each part's heading row
    work = [r for r in rows if r and r[0] == "工作业绩"]
    assert work == [["工作业绩", "2026-01", "100", "7"], ["工作业绩", "2026-02", "1234.5", "9"]]
    training = {r[1]: r for r in rows if r and r[0] == "培训记录"}
    culture = training["企业文化"]
    assert culture[2] == "导入：history.csv" and culture[6] == "2024-03-08"
    # A note that Excel would run as a formula is written as text.
    assert ["奖惩", "2026-03-20", "奖励", "'=1+1", "导入：rewards.csv"] in rows


def test_an_english_reader_gets_english_headings_in_the_page_and_the_files(scene: Scene):
    client = scene.forms.client
    client.get("/language/en?next=/hr")
    try:
        page = client.get("/hr/employees/E1001")
        tables = page_tables(page.text)
        assert tables["training"][0][:3] == ["Module", "Source", "Materials handed off"]
        assert "Employee report: 张伟" in page.text
        assert Reading({"employee report": visible(page.text)}).problems("en") == {}
        workbook = load_workbook(io.BytesIO(client.get("/hr/employees/E1001.xlsx").content))
        assert workbook.sheetnames[1] == "Training record"
        assert [c.value for c in workbook["Training record"][1]] == tables["training"][0]
        assert client.get("/hr/employees/E1001.csv").content.decode("utf-8-sig") \
            .startswith("Part,Name,Employee ID,Email")
    finally:
        client.get("/language/zh_CN?next=/hr")


def test_the_run_page_leads_to_its_hires_report(scene: Scene):
    client = scene.forms.client
    run = client.get(f"/hr/runs/{scene.run_id}")
    assert f'href="/hr/runs/{scene.run_id}/employee"' in run.text
    answer = client.get(f"/hr/runs/{scene.run_id}/employee", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/hr/employees/E1001"


def test_hires_and_imported_employees_are_found_by_name_id_or_email(scene: Scene):
    client = scene.forms.client

    def names_on(url: str) -> list[str]:
        answer = client.get(url)
        assert answer.status_code == 200
        return re.findall(r'<a href="/hr/employees/[^"]+"><strong>([^<]+)</strong>', answer.text)

    first, second = names_on("/hr/employees"), names_on("/hr/employees?page=2")
    assert len(first) == 50 and len(first) + len(second) == FILLERS + 3
    everyone = first + second
    assert everyone.count("张伟") == 1  # hire and imported employee: one person
    assert {"张伟", "王芳", "李雷"} <= set(everyone)
    assert "下一页" in client.get("/hr/employees").text
    assert names_on("/hr/employees?q=E1002") == ["王芳"]
    assert names_on("/hr/employees?q=WANG.fang") == ["王芳"]
    assert names_on("/hr/employees?q=张") == ["张伟"]
    assert names_on(f"/hr/employees?q={OTHER_HIRE}") == ["李雷"]
    assert names_on("/hr/employees?q=%25") == []  # a % is a character, not a wildcard
    assert 'href="/hr/employees/E1001"' in client.get("/hr/employees?q=E1001").text


def test_an_employee_only_hired_or_only_imported_has_a_report_and_others_none(scene: Scene):
    client = scene.forms.client
    hired = visible(client.get(f"/hr/employees/{OTHER_HIRE}").text)
    assert "员工报告：李雷" in hired and "尚未分配" in hired and "尚未导入工作业绩。" in hired
    training = page_tables(client.get(f"/hr/employees/{OTHER_HIRE}").text)["training"]
    python = dict(zip(training[0], next(r for r in training[1] if r[0] == "Python基础"),
                      strict=True))
    assert python["辅导时长（小时）"] == "1.5"  # the confirmed 90 minutes; the disputed 30 not
    imported = visible(client.get("/hr/employees/E1002").text)
    assert "员工报告：王芳" in imported and "暂无培训记录。" in imported and "555" in imported
    assert "技术部" in imported and "尚无考核评分。" in imported
    for nobody in ("E9999", "li.na@example.com", "", "E1001/x"):  # li.na: staff, no hire
        assert client.get(f"/hr/employees/{nobody}").status_code == 404, nobody
    assert client.get("/hr/employees/E9999.xlsx").status_code == 404


def test_a_visitor_without_an_hr_session_reads_nothing(scene: Scene):
    from forms.app import app

    stranger = TestClient(app)
    stranger.cookies.set("jieli_hr", "not-a-session", path="/hr")
    for client in (TestClient(app), stranger):
        for path in ("/hr/employees", "/hr/employees/E1001", "/hr/employees/E1001.xlsx",
                     "/hr/employees/E1001.csv", f"/hr/runs/{scene.run_id}/employee"):
            answer = client.get(path, follow_redirects=False)
            assert answer.status_code == 401, path
            assert "张伟" not in answer.text and answer.headers["content-type"].startswith(
                "text/html"), path


SIDEWAYS = """() => {
  const wide = [], page = document.documentElement;
  if (page.scrollWidth > page.clientWidth) wide.push(`page: ${page.scrollWidth}`);
  for (const e of document.body.querySelectorAll("*"))
    if (e.scrollWidth > e.clientWidth + 1 && /auto|scroll/.test(getComputedStyle(e).overflowX))
      wide.push(e.tagName);
  return wide;
}"""


@pytest.fixture
def site(scene: Scene) -> Iterator[str]:
    with serving() as base:
        yield base


@pytest.mark.slow
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
@pytest.mark.parametrize("width", [1280, 390])
def test_the_report_reads_on_a_desktop_and_a_phone_in_chromium(
        scene: Scene, site: str, browser, width: int, locale: str):
    phone = width == 390
    context = browser.new_context(viewport={"width": width, "height": 844 if phone else 800},
                                  is_mobile=phone, has_touch=phone, locale="zh-CN",
                                  accept_downloads=True)
    context.add_cookies([
        {"name": "jieli_hr", "value": scene.hr_cookie, "domain": "127.0.0.1", "path": "/hr",
         "httpOnly": True, "sameSite": "Lax"},
        {"name": "jieli_lang", "value": locale, "domain": "127.0.0.1", "path": "/"}])
    page = context.new_page()
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        assert page.goto(f"{site}/hr/employees").status == 200
        page.screenshot(path=str(SHOTS / f"employee-list-{locale}-{width}.png"), full_page=True)
        page.fill("input[name=q]", "张")  # 张伟 is on the second page: search for him
        page.locator("form.search button").click()
        page.wait_for_url(re.compile(r".*q=%E5%BC%A0.*"))
        page.get_by_role("link", name="张伟").click()
        page.wait_for_url(f"{site}/hr/employees/E1001")
        shot = f"employee-report-{locale}-{width}"
        page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)
        for part in ("training", "findings", "work"):  # a closer look at the widest parts
            page.locator(f"#table-{part}").screenshot(path=str(SHOTS / f"{shot}-{part}.png"))
        text = page.inner_text("body")
        assert Reading({"employee report": text}).problems(locale) == {}
        if phone:
            assert page.evaluate(SIDEWAYS) == []
            # Each row a card: the headings are gone, each value carries its label.
            assert not page.locator("#table-training thead").is_visible()
        assert "1,234.5" in text and ("季度之星" in text)
        with page.expect_download() as download:
            page.locator("p.downloads a").first.click()
        assert download.value.suggested_filename == (
            "员工报告-张伟.xlsx" if locale == "zh_CN" else "Employee report 张伟.xlsx")
        workbook = load_workbook(io.BytesIO(download.value.path().read_bytes()))
        assert len(workbook.sheetnames) == 6
    finally:
        context.close()


def test_a_longer_history_costs_no_more_queries(forms: Forms, tmp_path: Path):
    """The report is read with a few queries whatever the history's length (a later
    benchmark times 10,000 employees with two years each): one month or four years of
    figures, rewards and training, the same number of queries."""
    from sqlalchemy import event

    from storage.db import get_engine
    from storage.settings import get_settings
    from tasks.reports.employee import employee_report

    forms.start_run()
    _import(tmp_path, Kind.EMPLOYEES, "e.csv", f"工号,姓名,邮箱,部门,岗位,入职日期\n"
                                               f"E1,张伟,{HIRE},市场部,市场专员,2022-01-04\n")
    engine = get_engine(get_settings().storage_url)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    def queries() -> tuple[int, int]:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            report = employee_report("E1", "zh_CN")
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements), len(report.work.months)

    _import(tmp_path, Kind.METRICS, "m1.csv", "工号,月份,指标,数值\nE1,2022-01,销售额,1\n")
    _import(tmp_path, Kind.REWARDS, "r1.csv", "工号,日期,类型,说明\nE1,2022-01-05,奖励,\n")
    few, months = queries()
    assert months == 1 and few <= 20, statements
    _import(tmp_path, Kind.METRICS, "m2.csv", "工号,月份,指标,数值\n" + "".join(
        f"E1,{2022 + i // 12}-{i % 12 + 1:02d},{metric},{i}\n"
        for i in range(48) for metric in ("销售额", "工单数")))
    _import(tmp_path, Kind.REWARDS, "r2.csv", "工号,日期,类型,说明\n" + "".join(
        f"E1,2023-01-{d:02d},奖励,第{d}次\n" for d in range(1, 29)))
    _import(tmp_path, Kind.HISTORY, "h.csv", "工号,模块,完成日期,成绩\n" + "".join(
        f"E1,{m},2022-0{i + 1}-10,9{i}\n" for i, m in enumerate(("企业文化", "规章制度"))))
    assert queries() == (few, 48)


def test_the_list_and_the_report_read_the_same_on_sqlite_and_postgresql(
        database_url: str, tmp_path: Path):
    """The list's union of hires and imported employees, its search and its order, and the
    report's reads, on both databases."""
    from tasks.reports.employee import employee_report, find_employees
    from tasks.runs import start_onboarding

    with ready_storage(tmp_path, database_url):
        _import(tmp_path, Kind.EMPLOYEES, "e.csv", EMPLOYEES)
        _import(tmp_path, Kind.METRICS, "m.csv", METRICS)
        start_onboarding(name="张伟", email=HIRE, position="marketing-specialist",
                         start=date(2026, 12, 1), by_email=HR, via="cli")
        start_onboarding(name="李雷", email=OTHER_HIRE, position="python-developer",
                         start=date(2026, 12, 1), by_email=HR, via="cli")
        everyone = find_employees("", 2, "zh_CN", per_page=50)
        assert (everyone.total, everyone.pages, len(everyone.entries)) == (FILLERS + 3, 2, 13)
        assert [e.name for e in find_employees("e1002", 1, "zh_CN").entries] == ["王芳"]
        assert [e.name for e in find_employees("_", 1, "zh_CN").entries] == []
        (zhang,) = find_employees("张伟", 1, "zh_CN").entries
        assert (zhang.key, zhang.onboarded, zhang.imported) == ("E1001", True, True)
        report = employee_report(HIRE, "en")
        assert report.identity.employee_ids == ("E1001",) and len(report.training) == 6
        assert report.work.metrics == ("销售额", "客户数")
        assert [m.values for m in report.work.months] == [(100, 7), (1234.5, 9)]
