"""The dashboard HR and the boss read: each department's legs, late and never done, the
hires they blocked and for how many working days, the findings they answer for; each
position's pass rate; each running hire's progress; filters that change them.

Three hires' relays are played on real storage through the domain actions (no Prefect
server: resuming a run defers), on a virtual clock in November and December 2026 (no
public holiday in it), and the figures are read as the page shows them.

    Mon 2 Nov   张伟 and 王芳 start as marketing specialists: each run asks HR for three
                modules and marketing for three, due Wed 4 Nov.
    Tue 3 Nov   HR hands off its three, marketing product knowledge: on time.
    Sat 7 Nov   marketing hands off customer communication: 3 days late.
                Proposal writing is never handed off.
    Mon 16 Nov  李雷 starts as a Python developer: HR's safety and technology's Python
                basics are due Wed 18 Nov. Safety comes Tue 17 Nov, Python basics Fri 20 Nov
                (2 days, 2 working days late); 李雷 passes the culture quiz. Technology owes
                him coaching in Python basics by Fri 4 Dec: it never comes.
    Wed 2 Dec   the marketing manager is asked to appraise 张伟 and 王芳 (due Fri 4 Dec).
    Thu 3 Dec   张伟 fails the proposal presentation (its materials never came: marketing's
                finding), 王芳 passes; both runs complete.
    Mon 7 Dec   韩梅 starts as a Python developer: every module is assigned at once, her
                coaching is due Mon 21 Dec.
    Thu 10 Dec  the day the dashboard is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from storage import clock
from tasks.env import get_catalog
from tasks.reports.dashboard import Dashboard, DepartmentFigures, Filters, dashboard
from tests.forms.conftest import Forms, module_forms  # noqa: F401  (the fixture)
from tests.forms.test_every_page import SIDEWAYS
from tests.installation import installed, settings_for
from tests.security.conftest import serving, sign_in
from tests.visible_text import Reading, visible

SHOTS = Path("test-artifacts/screenshots")
SHANGHAI = ZoneInfo("Asia/Shanghai")
HR = "liu.fang@example.com"
MARKETING = "li.na@example.com"
TECHNOLOGY = "wang.lei@example.com"
MARKETING_MANAGER = "zhou.qiang@example.com"
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}
TWO_MONTHS = {"from": "2026-11-01", "to": "2026-12-31"}


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@dataclass
class Relays:
    forms: Forms
    runs: dict[str, int]  # hire's name -> run id
    session: str  # HR's session cookie
    clock: clock.VirtualClock  # at the day the dashboard is read


def play(virtual: clock.VirtualClock) -> dict[str, int]:
    """The three relays of the module's docstring; the run of each hire, by name."""
    from sqlalchemy import select

    from storage.models import Assignment, Person
    from tasks.appraisal import request_appraisal, submit_appraisal
    from tasks.attribution import attribute
    from tasks.env import reading
    from tasks.handoff import deliver_materials, open_handoff_gates
    from tasks.learning import assign_ready_modules, take_quiz
    from tasks.practice import open_practice_legs
    from tasks.runs import start_onboarding
    from tasks.status import complete_run

    def start(name: str, email: str, position: str, first: date) -> int:
        run_id = start_onboarding(name=name, email=email, position=position, start=first,
                                  by_email=HR, via="cli").run_id
        open_handoff_gates.fn(run_id)
        return run_id

    def deliver(module: str, by: str) -> None:
        deliver_materials(module_code=module, by_email=by, via="cli")

    virtual.set(at(11, 2, 9))
    runs = {"张伟": start("张伟", "zhang.wei@example.com", "marketing-specialist",
                        date(2026, 11, 2))}
    virtual.set(at(11, 2, 9, 10))
    runs["王芳"] = start("王芳", "wang.fang@example.com", "marketing-specialist",
                       date(2026, 11, 2))
    virtual.set(at(11, 3))
    for module in ("culture", "rules", "etiquette"):
        deliver(module, HR)
    deliver("product-knowledge", MARKETING)
    virtual.set(at(11, 7))
    deliver("customer-communication", MARKETING)

    virtual.set(at(11, 16, 9))
    runs["李雷"] = start("李雷", "li.lei@example.com", "python-developer", date(2026, 11, 16))
    virtual.set(at(11, 17))
    deliver("safety", HR)
    virtual.set(at(11, 20))
    deliver("python-basics", TECHNOLOGY)
    assign_ready_modules.fn(runs["李雷"])
    open_practice_legs.fn(runs["李雷"])  # technology's coaching in Python basics, due 4 Dec
    with reading() as session:
        culture = session.scalars(select(Assignment.id).where(
            Assignment.run_id == runs["李雷"], Assignment.module_code == "culture")).one()
        manager = session.scalars(select(Person.id).where(
            Person.email == MARKETING_MANAGER)).one()
    quiz = get_catalog().modules["culture"].quiz
    take_quiz(assignment_id=culture, via="cli", by_email="li.lei@example.com",
              answers={i: q.answer for i, q in enumerate(quiz.questions)})

    virtual.set(at(12, 2, 9))
    for name in ("张伟", "王芳"):
        request_appraisal.fn(runs[name])
    virtual.set(at(12, 3))
    for name, (practice, content, delivery) in (("张伟", (70, 40, 40)), ("王芳", (70, 75, 65))):
        submit_appraisal(run_id=runs[name], appraiser_id=manager, comments={}, via="cli",
                         scores={"scenario-simulation": {"practice": practice},
                                 "proposal-presentation": {"content": content,
                                                           "delivery": delivery}})
        attribute.fn(runs[name])
        complete_run.fn(runs[name])
    virtual.set(at(12, 7))
    runs["韩梅"] = start("韩梅", "han.mei@example.com", "python-developer", date(2026, 12, 7))
    assign_ready_modules.fn(runs["韩梅"])  # every material is there: nothing to ask for
    open_practice_legs.fn(runs["韩梅"])  # coaching due 21 Dec
    virtual.set(at(12, 10))
    return runs


@pytest.fixture(scope="module")
def relays(module_forms: Forms) -> Iterator[Relays]:  # noqa: F811
    virtual = clock.VirtualClock(at(11, 2, 9))
    clock.use_clock(virtual)
    try:
        runs = play(virtual)
        yield Relays(module_forms, runs, sign_in(module_forms, HR), virtual)
    finally:
        clock.use_clock(clock.SystemClock())


@pytest.fixture(autouse=True)
def reading_day(request: pytest.FixtureRequest) -> None:
    """The relays' day for the tests that read them (another test may have moved the clock)."""
    if "relays" in request.fixturenames:
        clock.use_clock(request.getfixturevalue("relays").clock)


def board(filters: dict[str, str], locale: str = "zh_CN") -> Dashboard:
    return dashboard(Filters(date.fromisoformat(filters["from"]),
                             date.fromisoformat(filters["to"]),
                             filters.get("department"), filters.get("position")), locale)


def department(shown: Dashboard, code: str) -> DepartmentFigures:
    return next(d for d in shown.departments if d.code == code)


def row(html: str, attribute: str, code: str) -> list[str]:
    """The cells of one table row of the page, as the reader sees them."""
    found = re.search(rf'<tr data-{attribute}="{code}">(.*?)</tr>', html, re.S)
    assert found, (attribute, code)
    return [visible(cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>",
                                                           found.group(1), re.S)]


def test_november_shows_marketing_late_with_hand_offs_never_done(relays: Relays):
    check_november(board(NOVEMBER))


def test_two_months_count_the_appraisals_the_finding_and_the_pass_rate(relays: Relays):
    check_two_months(board(TWO_MONTHS))


def check_november(shown: Dashboard) -> None:
    assert [d.name for d in shown.departments] == ["人力资源部", "市场部", "技术部"]
    marketing = department(shown, "marketing")
    # Six hand-offs asked (three per hire); customer communication 3 days late for both;
    # proposal writing still not handed off at the end of November, 26 days after 4 Nov.
    assert (marketing.legs, marketing.handoffs, marketing.late, marketing.not_done) == \
        (6, 6, 4, 2)
    assert marketing.average_days_late == (3 + 3 + 26 + 26) / 4
    # Two hires waited from Thu 5 Nov to Mon 30 Nov: 18 working days each.
    assert (marketing.hires_blocked, marketing.blocked_working_days) == (2, 36)
    assert marketing.findings == 0  # the appraisal came in December
    hr = department(shown, "hr")
    assert (hr.legs, hr.late, hr.blocked_working_days) == (7, 0, 0)
    technology = department(shown, "technology")
    # Python basics 2 days late; the coaching (a leg of another kind) not yet due on 30 Nov.
    assert (technology.legs, technology.handoffs, technology.late, technology.not_done,
            technology.average_days_late, technology.blocked_working_days) == (2, 1, 1, 0, 2.0,
                                                                               2)


def check_two_months(shown: Dashboard) -> None:
    marketing = department(shown, "marketing")
    # The two appraisals are marketing's legs too (scored on time); proposal writing was
    # never done: its lateness stopped when the runs completed on 3 Dec (29 days).
    assert (marketing.handoffs, marketing.other_legs, marketing.late,
            marketing.not_done) == (6, 2, 4, 2)
    assert marketing.average_days_late == (3 + 3 + 29 + 29) / 4
    assert marketing.blocked_working_days == 2 * 21  # Thu 5 Nov to Thu 3 Dec
    assert marketing.findings == 1
    rates = {p.code: (p.appraised, p.passed, p.pass_rate) for p in shown.positions}
    assert rates == {"marketing-specialist": (2, 1, 0.5), "python-developer": (0, 0, None)}
    assert shown.other_findings == {}


def test_each_database_gives_the_same_figures(database_url: str, tmp_path: Path):
    """The day arithmetic is each database's own (time zones on PostgreSQL): same figures."""
    from deployments.cli import prepare_storage

    virtual = clock.VirtualClock(at(11, 2, 9))
    clock.use_clock(virtual)
    try:
        with installed(settings_for(tmp_path, database_url=database_url)):
            prepare_storage()
            play(virtual)
            check_november(board(NOVEMBER))
            check_two_months(board(TWO_MONTHS))
    finally:
        clock.use_clock(clock.SystemClock())


def test_the_page_shows_the_figures_names_and_progress(relays: Relays):
    client = relays.forms.client
    page = client.get("/hr/dashboard", params=TWO_MONTHS)
    assert page.status_code == 200, page.text
    # Hand-offs, other legs, late, not done, average days late, hires, working days, findings.
    assert row(page.text, "department", "marketing") == [
        "市场部", "6", "2", "4", "2", "16.0", "2", "42", "1"]
    assert row(page.text, "position", "marketing-specialist") == ["市场专员", "2", "1", "50%"]
    assert row(page.text, "position", "python-developer")[-1] == "暂无考核"
    # 李雷, first of the two hires still in onboarding: 4 hand-offs and 1 quiz done of 10 legs
    # (8, and Python basics' coaching and assignment), his studies 15 days overdue (due Wed
    # 25 Nov), technology's coaching 6.
    hires = re.search(r'<ul class="hires" id="hires">(.*?)</ul>', page.text, re.S)
    assert hires is not None
    assert '<progress value="5" max="10">' in hires.group(1)
    assert "李雷" in hires.group(1) and "张伟" not in hires.group(1)
    assert "接力环节完成 5/10" in visible(hires.group(1))
    assert "待新员工、技术部处理 · 已逾期 15 天" in visible(hires.group(1))
    text = visible(page.text)
    assert "11月1日（周日）至12月31日（周四）" in text
    assert Reading({"dashboard": text}).problems("zh_CN") == {}
    # The charts are in the page, in Chinese, with no script (the CSP forbids scripts).
    assert page.text.count("<svg") == 3 and "<script" not in page.text
    svg = page.text[page.text.index("<svg"):]
    assert "市场部" in svg and "按时" in svg and "逾期未完成" in svg


def test_filters_change_the_figures(relays: Relays):
    client = relays.forms.client
    python = client.get("/hr/dashboard", params={**TWO_MONTHS, "position": "python-developer"})
    assert row(python.text, "department", "marketing")[1:4] == ["0", "0", "0"]
    assert row(python.text, "department", "hr")[1:4] == ["1", "0", "0"]  # safety
    # Python basics 2 days late, 李雷's coaching 6 (4 Dec to 10 Dec: 4 working days), 韩梅's
    # not yet due.
    assert row(python.text, "department", "technology")[1:] == ["1", "2", "2", "1", "4.0",
                                                                 "1", "6", "0"]
    assert 'data-position="marketing-specialist"' not in python.text
    assert '<option value="python-developer" selected>' in python.text

    marketing = client.get("/hr/dashboard", params={**TWO_MONTHS, "department": "marketing"})
    assert re.findall(r'<tr data-department="([^"]+)"', marketing.text) == ["marketing"]
    assert re.findall(r'<tr data-position="([^"]+)"', marketing.text) == \
        ["marketing-specialist"]
    assert "李雷" not in marketing.text  # a Python developer: technology's hire


    december = client.get("/hr/dashboard", params={"from": "2026-12-01", "to": "2026-12-31"})
    # Only the appraisals were asked in December, and both were scored on time.
    assert row(december.text, "department", "marketing") == [
        "市场部", "0", "2", "0", "0", "—", "0", "0", "1"]


def test_an_empty_period_says_so_instead_of_drawing_empty_charts(relays: Relays):
    page = relays.forms.client.get("/hr/dashboard", params={"from": "2026-10-01",
                                                            "to": "2026-10-31"})
    assert page.status_code == 200 and "<svg" not in page.text
    text = visible(page.text)
    assert "所选时段内没有向任何部门提出环节" in text and "所选时段内没有人完成试用期考核" in text
    assert row(page.text, "department", "marketing")[1:] == ["0", "0", "0", "0", "—", "0",
                                                              "0", "0"]


def test_running_hires_come_a_page_at_a_time_the_most_overdue_first(
        relays: Relays, monkeypatch: pytest.MonkeyPatch):
    from tasks.reports import dashboard as module

    monkeypatch.setattr(module, "HIRES_PER_PAGE", 1)
    client = relays.forms.client

    def hires(page: dict[str, str]) -> list[str]:
        answer = client.get("/hr/dashboard", params=page)
        assert answer.status_code == 200
        return re.findall(r'<li data-run="\d+"><a [^>]*>([^<]+)</a>', answer.text)

    first = client.get("/hr/dashboard", params=TWO_MONTHS)
    assert hires(TWO_MONTHS) == ["李雷"]  # 15 days overdue; 韩梅's studies are due today
    assert "第 1 页，共 2 页" in visible(first.text) and ">上一页<" not in first.text
    following = re.search(r'<a href="([^"]+)">下一页</a>', first.text)
    assert following is not None
    second = client.get(following.group(1).replace("&amp;", "&"))
    assert "韩梅" in second.text and "第 2 页，共 2 页" in visible(second.text)
    assert "from=2026-11-01" in following.group(1)  # the filters are kept
    # A page past the last shows the last one; a page that is no number, the first.
    assert hires({**TWO_MONTHS, "page": "9"}) == ["韩梅"]
    assert hires({**TWO_MONTHS, "page": "x"}) == ["李雷"]


def test_a_wrong_filter_says_how_to_fix_it_and_shows_the_default(relays: Relays):
    client = relays.forms.client
    page = client.get("/hr/dashboard", params={"from": "2026-12-31", "to": "2026-11-01",
                                               "department": "nowhere"})
    assert page.status_code == 422
    text = visible(page.text)
    assert "开始日期晚于结束日期" in text and "没有这个部门" in text
    # The last 90 days up to today (10 Dec), every department.
    assert "9月12日（周六）至12月10日（周四）" in text
    assert len(re.findall(r"<tr data-department=", page.text)) == 3


def test_english_readers_read_names_and_days_in_english(relays: Relays):
    client = relays.forms.client
    client.get("/language/en?next=/hr/dashboard")
    try:
        page = client.get("/hr/dashboard", params=TWO_MONTHS)
    finally:
        client.get("/language/zh_CN?next=/hr/dashboard")
    assert row(page.text, "department", "marketing")[0] == "Marketing"
    assert row(page.text, "position", "marketing-specialist")[0] == "Marketing specialist"
    text = visible(page.text)
    assert "Sun 1 Nov to Thu 31 Dec" in text and "Onboarding dashboard" in text
    assert Reading({"dashboard": text}).problems("en") == {}


def test_the_hr_overview_links_to_the_dashboard(relays: Relays):
    overview = relays.forms.client.get("/hr")
    assert 'href="/hr/dashboard"' in overview.text


def test_the_boss_reads_it_too_and_nobody_signed_out_does(relays: Relays):
    from fastapi.testclient import TestClient

    from forms.app import app

    with TestClient(app) as stranger, TestClient(app) as boss:
        refused = stranger.get("/hr/dashboard")
        assert refused.status_code == 401 and "市场部" not in refused.text
        sign_in(Forms(boss), "boss@example.com")  # the cookie stays in the boss's browser
        assert row(boss.get("/hr/dashboard", params=TWO_MONTHS).text, "department",
                   "marketing")[1:4] == ["6", "2", "4"]


@pytest.fixture(scope="module")
def served(relays: Relays) -> Iterator[str]:
    """The forms app behind uvicorn, on the relays' storage."""
    with serving() as base:
        yield base


@pytest.mark.slow
@pytest.mark.parametrize(("locale", "width"),
                         [("zh_CN", 1280), ("zh_CN", 390), ("en", 1280), ("en", 390)])
def test_the_dashboard_reads_right_in_chromium_on_a_phone_and_a_desktop(
        relays: Relays, served: str, browser, locale: str, width: int):
    SHOTS.mkdir(parents=True, exist_ok=True)
    phone = width == 390
    context = browser.new_context(viewport={"width": width, "height": 844 if phone else 800},
                                  is_mobile=phone, has_touch=phone, locale="zh-CN")
    context.add_cookies([{"name": "jieli_hr", "value": relays.session, "domain": "127.0.0.1",
                          "path": "/hr", "httpOnly": True, "sameSite": "Lax"}])
    page = context.new_page()
    refused: list[str] = []  # scripts the CSP refused, resources that did not load
    page.on("console", lambda m: refused.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.on("response", lambda r: refused.append(r.url)
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    try:
        if locale == "en":
            page.goto(f"{served}/language/en?next=/hr")
        page.goto(f"{served}/hr")
        page.get_by_role("link", name=re.compile("看板|Dashboard")).click()
        page.wait_for_url(re.compile(r"/hr/dashboard"))
        # The reader chooses the two months with the form itself.
        page.fill("#from", "2026-11-01")
        page.fill("#to", "2026-12-31")
        page.get_by_role("button", name=re.compile("查看|Show")).click()
        page.wait_for_url(re.compile(r"to=2026-12-31"))
        cells = page.locator('tr[data-department="marketing"] td').all_inner_texts()
        # On a phone each cell is a line "label  figure": the figure is its last word.
        assert [c.split()[-1] for c in cells][1:] == ["6", "2", "4", "2", "16.0", "2", "42",
                                                       "1"]
        name = "dashboard-" + ("zh" if locale == "zh_CN" else "en") + f"-{width}"
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        text = page.inner_text("body")
        assert Reading({name: text}).problems(locale) == {}
        assert page.evaluate(SIDEWAYS) == []
        assert refused == []
        for chart in page.locator("figure.chart svg").all():
            box = chart.bounding_box()
            assert box is not None and box["width"] <= width
        # The charts' labels stay readable once the SVG is scaled to the screen.
        size = page.evaluate("""() => Math.min(...[...document.querySelectorAll(
            'figure.chart svg text')].filter(t => t.textContent.trim())
            .map(t => t.getBoundingClientRect().height))""")
        assert size >= 11
        page.select_option("#department", "technology")
        page.get_by_role("button", name=re.compile("查看|Show")).click()
        page.wait_for_url(re.compile(r"department=technology"))
        assert page.locator("tr[data-department]").count() == 1
        page.screenshot(path=str(SHOTS / f"{name}-technology.png"), full_page=True)
    finally:
        context.close()
