"""Every user-facing string is in both catalogs, and emails render in each language."""

from __future__ import annotations

from datetime import UTC, date

import pytest
from babel.messages.pofile import read_po

from tasks.email import Recipient, render
from tasks.i18n import LOCALES_DIR
from tools.update_translations import ROOT, extracted


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_string_is_translated(locale: str):
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=locale)
    translated = {m.id for m in catalog if m.id and m.string}
    messages = set(extracted())
    assert len(messages) > 20
    assert sorted(messages - translated) == []


HANDOFF_CONTEXT = dict(
    hire="张伟", position="市场专员", department="市场部", first_day="将于12月1日（周二）入职",
    due="12月3日（周四）", modules=[
        {"title": "客户沟通", "materials": ["《客户沟通话术模板》"], "link": "http://x/h?t=1"},
        {"title": "方案写作", "materials": ["《方案模板》", "《优秀方案范例》"],
         "link": "http://x/h?t=2"}])


def test_a_handoff_request_reads_chinese_first_and_english_on_request():
    zh = render("handoff_request", to=Recipient("李娜", "li.na@example.com"), **HANDOFF_CONTEXT)
    assert zh["Subject"] == ("新员工 张伟 需要「客户沟通」、「方案写作」的培训资料，"
                             "请在12月3日（周四）前提交")
    text = zh.get_body(("plain",)).get_content()
    assert "李娜，您好" in text and "请在12月3日（周四）前提交" in text
    assert "新员工 张伟（市场专员）将于12月1日（周二）入职。" in text
    assert "http://x/h?t=1" in text and "http://x/h?t=2" in text and "《优秀方案范例》" in text
    html = zh.get_body(("html",)).get_content()
    assert 'href="http://x/h?t=1"' in html and 'href="http://x/h?t=2"' in html
    assert "提交培训资料" in html

    en = render("handoff_request", to=Recipient("Emily", "e@example.com", "en"),
                **HANDOFF_CONTEXT)
    assert en["Subject"].startswith("Materials needed by")
    assert "please hand them off by 12月3日" in en.get_body(("plain",)).get_content()


def test_the_forms_home_page_follows_accept_language():
    from fastapi.testclient import TestClient

    from forms.app import app

    client = TestClient(app)
    zh = client.get("/")
    assert zh.status_code == 200 and "部门负责人" in zh.text and "新员工" in zh.text
    assert 'lang="zh-CN"' in zh.text and 'href="/hr/sign-in"' in zh.text
    en = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Department owners" in en.text and 'lang="en"' in en.text


EMAIL_CONTEXT = {
    "handoff_request": HANDOFF_CONTEXT,
    "reminder": dict(count=2, first={"what": "「客户沟通」的资料", "who": "李娜", "days": 2},
                     items=[{"what": "「客户沟通」的资料", "who": "李娜", "days": 2,
                             "lines": ["张伟：12月3日（周四） 截止，已逾期 2 天"],
                             "link": "http://x/h?t=1", "handoff": True}],
                     escalations=[{"what": "试用期考核", "who": "周强", "days": 3,
                                   "lines": ["张伟：12月30日（周三） 截止，已逾期 3 天"],
                                   "link": None, "handoff": False}]),
    "assignment": dict(pass_mark=80, modules=[{"title": "企业文化", "due": "12月4日（周五）",
                                               "link": "http://x/s?t=1", "note": "先看手册",
                                               "note_by": "刘芳"}]),
    "retest": dict(module="企业文化", score=70, pass_mark=80, attempts_left=2,
                   link="http://x/s?t=1"),
    "hr_sign_in": dict(link="http://x/hr/sign-in/confirm?t=1", minutes=15),
    "run_cancelled": dict(hire="张伟", position="市场专员", run_id=7, when="12月2日（周三）14:00",
                          link="http://x/runs/flow-run/1"),
    "coaching_request": dict(hire="李强", module="Python基础", sessions=2,
                             due="12月15日（周二）", link="http://x/coaching/1.python-basics?t=1"),
    "coaching_confirm": dict(coach="王磊", module="Python基础", held_on="12月4日（周五）",
                             minutes=60, topic="调试", link="http://x/coaching/sessions/1?t=1"),
    "practice_assignment": dict(module="Python基础", title="编程作业", brief="写一个小程序",
                                due="12月15日（周二）", pass_mark=60, rubric=["正确性", "代码风格"],
                                link="http://x/submit/1.python-basics?t=1"),
    "grade_request": dict(hire="李强", module="Python基础", title="编程作业", number=1,
                          due="12月14日（周一）", link="http://x/grade/1?t=1"),
    "dept_sign_in": dict(link="http://x/dept/sign-in/marketing/confirm?t=1", minutes=15),
    "material_update": dict(module="客户沟通", version=2, change="replaced",
                            material="《客户沟通话术模板》", by="市场部 李娜", note="新增报价话术",
                            due="12月4日（周五）", link="http://x/study/1?t=1"),
    "grade_result": dict(module="Python基础", title="编程作业", number=1, passed=False,
                         pass_mark=60, grader="王磊",
                         scores=[{"criterion": "正确性", "score": 50, "comment": "再试"}],
                         link="http://x/submit/1.python-basics?t=1"),
}


@pytest.mark.parametrize("template", sorted(EMAIL_CONTEXT))
def test_every_email_renders_in_both_languages(template: str):
    zh = render(template, to=Recipient("李娜", "li.na@example.com", "zh_CN"),
                **EMAIL_CONTEXT[template])
    en = render(template, to=Recipient("Emily", "e@example.com", "en"),
                **EMAIL_CONTEXT[template])
    assert zh["Subject"] != en["Subject"]
    for message in (zh, en):
        assert "http://x/" in message.get_body(("plain",)).get_content()
        assert "http://x/" in message.get_body(("html",)).get_content()


def test_every_page_renders_in_both_languages():
    from types import SimpleNamespace as NS

    from tasks.i18n import jinja_env
    from tasks.learning import QuizResult
    from tasks.reports.employee import EmployeeList, EmployeeReport, Identity, WorkResults
    from tasks.reports.record import ImportedLeg, Leg, Timeline

    person = NS(name="李娜", email="li.na@example.com")
    module = {"code": "culture", "title": "企业文化",
              "materials": [{"code": "handbook", "title": "《企业文化手册》"}]}
    report = EmployeeReport("zh_CN", Identity("E1", "张伟", "z@example.com", ("E1",), "市场部",
                                              "市场专员", date(2024, 3, 5)), (), (),
                            WorkResults((), (), ()), ())
    timeline = Timeline(1, "张伟", "市场专员", "将于12月1日（周二）入职", [
        Leg("culture", "企业文化", "刘芳", "r", "d", "", "", "", "", "", [])],
        imported=[ImportedLeg("企业文化", "2025年3月5日（周三）", 85, "history.csv")])
    context = {
        "home.html": {}, "error.html": {"kind": "expired"},
        "handoff.html": {"person": person, "module": module, "problems": [],
                         "fields": {"handbook": {"kind": "size", "detail": "21 MB"}},
                         "held": {}, "waiting": [], "last": None, "accept": ".pdf",
                         "types": "PDF",
                         "max_mb": 20, "values": {"note": "", "links": {}}, "max_chars": 2000},
        "done.html": {"kind": "handoff", "module": module, "runs": 2, "note": "n"},
        "study.html": {"module": module, "due": "d",
                       "assignment": NS(status="assigned", note="n", note_by="刘芳"),
                       "quiz": NS(pass_mark=80, attempts=3), "materials": [], "scores": [70],
                       "quiz_url": "/quiz/1?t=x"},
        "quiz.html": {"title": "企业文化", "questions": [{"text": "q", "choices": ["a", "b"]}],
                      "attempt": 1, "attempts": 3, "pass_mark": 80, "closed": False,
                      "study_url": "/study/1?t=x"},
        "quiz_result.html": {"title": "企业文化", "total": 10, "study_url": "/study/1?t=x",
                             "next_url": "", "next_title": "",
                             "review": [{"n": 3, "text": "q", "given": "", "right": "a"}],
                             "result": QuizResult(1, "culture", 70, 80, False, 1, 2)},
        "appraise.html": {"hire": "张伟", "errors": [], "items": [
            {"code": "x", "title": "情景模拟", "criteria": ["practice"], "module": "客户沟通"}],
            "form": NS(position="市场专员", pass_mark=60, training=[NS(
                title="客户沟通", status="passed", scores=[85], pass_mark=80,
                handoff_late_days=2, handed_off=False, department="市场部",
                study_late_days=1, finished=True, practice=["辅导：已确认 1/2 次"])]),
            "values": {}, "max_chars": 2000},
        "too_large.html": {"kind": "body", "files": True, "limit": "20 MB"},
        "hr_sign_in.html": {"sent": False},
        "hr_sign_in_confirm.html": {"person": person, "t": "x"},
        "hr_base.html": {"csrf": "x"},
        "hr_runs.html": {"runs": [], "csrf": "x"},
        "hr_run.html": {"csrf": "x", "timeline": timeline, "started": True,
                        "prefect_url": "http://127.0.0.1:4200/runs/flow-run/x"},
        "hr_start.html": {"csrf": "x", "positions": [{"code": "p", "title": "市场专员"}],
                          "errors": [{"kind": "already", "run": 1}, {"kind": "name-long",
                                                                     "detail": 100}],
                          "values": {"name": "张伟", "email": "z@example.com",
                                     "position": "p", "start": "", "language": "zh_CN"}},
        "record.html": {"timeline": timeline},
        "hr_raci.html": {"position": "市场专员", "rows": [], "csrf": "x"},
        "hr_effectiveness.html": {
            "csrf": "x", "modules": [{"code": "m", "title": "客户沟通"}], "metrics": ["销售额"],
            "chosen": {"module": "m", "metric": "销售额"}, "problem": "metric", "found": {
                "module": "客户沟通", "metric": "销售额", "lift": "+30.0%", "imported": 3,
                "caution": "c", "rows": [{"who": "w", "n": 3, "mean": "1.00"}]}},
        "refused.html": {"kind": "too-many"},
        **practice_pages(person),
        "hr_employees.html": {"csrf": "x", "links": {}, "earlier": "/", "later": "/",
                              "found": EmployeeList("张", [], 0, 1, 1)},
        "hr_employee.html": {"csrf": "x", "report": report, "who": report.identity,
                             "parts": [], "xlsx": "/x.xlsx", "csv": "/x.csv"},
        "hr_dashboard.html": dashboard_context(),
        **department_pages(person),
    }
    # base.html is every page's frame, and _*.html hold macros only.
    templates = {p.name for p in (ROOT / "forms" / "templates").glob("*.html")
                 if p.name != "base.html" and not p.name.startswith("_")}
    assert templates == set(context)
    for name, ctx in context.items():
        pages = [jinja_env(locale, "forms").get_template(name).render(lang=locale, **ctx)
                 for locale in ("zh_CN", "en")]
        assert pages[0] != pages[1], name


def dashboard_context() -> dict[str, object]:
    """What the dashboard page shows, with every part of it present (errors included)."""
    from datetime import UTC, date, datetime

    from tasks.reports.dashboard import (
        Dashboard,
        DepartmentFigures,
        Filters,
        HireProgress,
        PositionFigures,
    )

    board = Dashboard(
        Filters(date(2026, 11, 1), date(2026, 11, 30), page=2), "11月1日（周日）至11月30日（周一）",
        datetime(2026, 11, 30, tzinfo=UTC),
        [DepartmentFigures("marketing", "市场部", 6, 6, 4, 2, 58, 2, 36, 1)],
        [PositionFigures("p", "市场专员", 2, 1), PositionFigures("q", "Python开发工程师", 0, 0)],
        [HireProgress(1, "李雷", "Python开发工程师", "已于11月16日（周一）入职", 5, 8, "新员工",
                      15)],
        41, 2, {"hire": 1})
    return {"csrf": "x", "board": board, "charts": {"legs": "", "blocked": "", "pass_rate": ""},
            "errors": ["from", "to", "order", "department", "position"],
            "values": {"from": "", "to": "", "department": "", "position": ""},
            "departments": [("marketing", "市场部")], "positions": [("p", "市场专员")],
            "previous": "/hr/dashboard?page=1", "next": "/hr/dashboard?page=3"}


def test_no_translatable_literal_hides_inside_an_f_string():
    """Babel's extractor skips f-strings: a `_("...")` there never reaches the catalogs."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    hidden = []
    for package in ("flows", "tasks", "forms", "deployments"):
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.JoinedStr):
                    continue
                for call in ast.walk(node):
                    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                            and call.func.id in ("_", "gettext", "N_")
                            and any(isinstance(a, ast.Constant) for a in call.args)):
                        hidden.append(f"{path.relative_to(root)}:{call.lineno}")
    assert not hidden, hidden


def practice_pages(person: object) -> dict[str, dict[str, object]]:
    """The practice legs' pages (forms/practice.py), each with a context it can render."""
    from datetime import date, datetime

    from storage.catalog import PlannedModule, load_catalog
    from tasks.practice import PracticeView, SessionView, SubmissionView

    at = datetime(2026, 12, 4, 9, tzinfo=UTC)
    module = PlannedModule.of(load_catalog().modules["python-basics"])
    session = SessionView(1, date(2026, 12, 4), 60, "调试", "", "王磊", "disputed", at, "没有")
    handed = SubmissionView(1, 1, at, "https://git.example.com/x", None, "请看", at, "王磊",
                            {"correctness": 50, "style": 70}, {"correctness": "再试"}, False)
    view = PracticeView(1, module, "李强", 2, "technology", [session], [handed], at, at, None)
    practice = module.practice
    assert practice is not None and practice.assignment is not None
    shared = {"view": view, "module": "Python基础", "coaching": practice.coaching,
              "brief": practice.assignment, "brief_title": "编程作业", "brief_text": "写",
              "rubric": [{"code": "correctness", "title": "正确性"}]}
    return {
        "coaching.html": {**shared, "person": person, "problems": {"held_on": "future"},
                          "values": {}, "recorded": True, "today": "2026-12-04",
                          "max_minutes": 480, "max_topic": 200, "max_notes": 2000},
        "coaching_answer.html": {**shared, "person": person, "session": session,
                                 "problems": {"answer": "choose"}, "comment": ""},
        "submit.html": {**shared, "person": person, "problems": {"link": "link"},
                        "values": {}, "handed_in": 1, "accept": ".pdf", "types": "PDF",
                        "max_mb": 20, "max_notes": 2000, "locale": "zh_CN"},
        "grade.html": {**shared, "person": person, "handed": handed, "newer": False,
                       "problems": {"correctness": "range"}, "values": {},
                       "max_notes": 2000, "file_url": "/grade/1/file?t=x"},
        "practice_done.html": {**shared, "kind": "disputed", "session": session,
                               "handed": handed, "passed": False},
        "practice_closed.html": {"at": at},
    }


def department_pages(person: object) -> dict[str, dict[str, object]]:
    """The department pages (forms/department.py), each with a context it can render."""
    from datetime import datetime

    from storage.catalog import load_catalog
    from tasks.module_versions import (
        MaterialHistory,
        MaterialsVersion,
        ModuleView,
        StudyingHire,
        VersionItem,
    )
    from tasks.quizzes import QuestionDraft, QuizDraft, QuizOf, QuizProblem

    at = datetime(2026, 12, 4, 9, tzinfo=UTC)
    quiz = load_catalog().modules["customer-communication"].quiz
    first = VersionItem(1, "scripts", "《客户沟通话术模板》", None, "https://x/s/1", None)
    second = VersionItem(4, "scripts", "《客户沟通话术模板》", "话术.pdf", None, 2048, "replaced")
    versions = [MaterialsVersion(2, 2, at, "李娜", "", [second], ["《常见问题应对案例》"]),
                MaterialsVersion(1, 1, at, "李娜", "先看话术", [first])]
    quizzes = [QuizOf("customer-communication", 2, quiz, at, "李娜"),
               QuizOf("customer-communication", 1, quiz)]
    view = ModuleView("customer-communication", "客户沟通", "市场部", False, versions,
                      [{"code": "cases", "title": "《常见问题应对案例》"}], quizzes[0], quizzes,
                      [{"name": "王芳", "position": "市场专员", "start": "将于12月7日（周一）入职",
                        "due": "12月9日（周三）"}],
                      [StudyingHire("张伟", "市场专员", "12月4日（周五）", 1)])
    files = {"accept": ".pdf", "types": "PDF", "max_mb": 20, "max_chars": 2000,
             "max_title": 200}
    blank = QuestionDraft({"zh_CN": "", "en": ""}, [{"zh_CN": "", "en": ""}] * 4)
    draft = QuizDraft([*QuizDraft.of(quiz).questions, blank], "120", "3")
    return {
        "dept_base.html": {"csrf": "x"},
        "dept_sign_in.html": {"sent": False, "invalid": True},
        "dept_sign_in_confirm.html": {"person": person, "department": "marketing", "t": "x"},
        "dept_modules.html": {"csrf": "x", "person": person, "modules": [view]},
        "dept_module.html": {"csrf": "x", "view": view, "problems": [{"kind": "title"}],
                             "values": {"title": "", "link": "", "note": ""},
                             "done": {"kind": "replaced", "n": 2, "emailed": 1}, **files},
        "dept_material.html": {"csrf": "x", "h": MaterialHistory(
            view, "scripts", "《客户沟通话术模板》", second,
            [(versions[0], second), (versions[1], first)]), "problems": [{"kind": "last"}],
            "values": {"link": "", "note": ""}, **files},
        "dept_quiz.html": {"csrf": "x", "code": "customer-communication", "title": "客户沟通",
                           "current": quizzes[0], "draft": draft, "choices": 4,
                           "languages": ("zh_CN", "en"),
                           "problems": [QuizProblem("choices", 1, "3"),
                                        QuizProblem("pass-mark", None, "120")]},
    }
