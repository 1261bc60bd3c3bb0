"""In Debian's chromium, against the forms app served by uvicorn: a refused hand-off keeps what
was typed and chosen, a spent link says so when opened again (Back included), the quiz's
choices are large enough to tap."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from storage.catalog import load_catalog
from tests.forms.conftest import Forms
from tests.security.conftest import server  # noqa: F401  (the fixture, for this module)

pytestmark = pytest.mark.slow

SHOTS = Path("test-artifacts/screenshots")
OWNER = "li.na@example.com"
HIRE = "zhang.wei@example.com"
PDF = b"%PDF-1.4 objection cases\n"
CULTURE = load_catalog().modules["culture"].quiz.questions


def test_a_refused_handoff_keeps_the_other_links_files_and_note(
        forms: Forms, server: str, browser, tmp_path: Path):  # noqa: F811
    forms.start_run()
    SHOTS.mkdir(parents=True, exist_ok=True)
    good = tmp_path / "objection-cases.pdf"
    good.write_bytes(PDF)
    fake = tmp_path / "assessment.pdf"  # a PDF by name only
    fake.write_bytes(b"not a pdf at all")
    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
    token = forms.token("handoff", OWNER, "customer-communication")
    url = f"{server}/handoff/customer-communication?t={token}"
    page.goto(url)
    assert "请在" in page.content() and "PDF" in page.content()
    page.fill("#link-communication-scripts", "pan.example.com/s/scripts")  # no https://
    page.set_input_files("#file-objection-cases", str(good))
    page.set_input_files("#file-communication-assessment", str(fake))
    page.fill("#note", "先看话术模板")
    page.get_by_role("button", name="提交培训资料").click()
    page.wait_for_load_state()

    # Refused: the link and the note are still there, the accepted file is kept, the
    # refused field is marked and says what to do.
    assert "资料尚未提交" in page.content()
    assert page.input_value("#link-communication-scripts") == "https://pan.example.com/s/scripts"
    assert page.input_value("#note") == "先看话术模板"
    keep = page.locator('input[name="keep-objection-cases"]')
    assert keep.is_checked()
    assert "保留之前选择的「objection-cases.pdf」" in page.content()
    refused = page.locator("#f-communication-assessment")
    assert "refused" in (refused.get_attribute("class") or "")
    assert "文件内容与扩展名不符" in refused.inner_text()
    assert page.get_attribute("#file-communication-assessment", "aria-invalid") == "true"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SHOTS / "forms-handoff-refused-phone.png"), full_page=True)

    # Only the refused file is chosen again.
    fake.write_bytes(b"%PDF-1.4 assessment\n")
    page.set_input_files("#file-communication-assessment", str(fake))
    page.get_by_role("button", name="提交培训资料").click()
    page.wait_for_load_state()
    assert "已交接" in page.content()
    stored = dict(forms.sql("select material_code, coalesce(link, file_path) "
                            "from delivered_materials"))
    assert stored["communication-scripts"] == "https://pan.example.com/s/scripts"
    assert Path(stored["objection-cases"]).read_bytes() == PDF
    assert Path(stored["communication-assessment"]).read_bytes() == b"%PDF-1.4 assessment\n"
    assert forms.sql("select note from deliveries") == [("先看话术模板",)]

    page.goto(url)  # the email's link, opened again
    assert "已于" in page.content() and "由 李娜 提交" in page.content()
    assert page.locator('input[type="file"]').count() == 0
    page.close()


def test_the_quiz_has_tappable_choices_and_back_shows_it_was_submitted(
        forms: Forms, server: str, browser):  # noqa: F811
    from tasks.handoff import deliver_materials
    from tasks.learning import assign_ready_modules

    run_id = forms.start_run(position="python-developer")
    deliver_materials(module_code="culture", by_email="liu.fang@example.com", via="cli")
    assign_ready_modules.fn(run_id)
    (assignment,) = forms.sql("select id from assignments")[0]
    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN",
                            is_mobile=True, has_touch=True)
    page.goto(f"{server}/study/{assignment}?t={forms.token('study', HIRE, str(assignment))}")
    page.get_by_text("参加测验").click()
    page.wait_for_load_state()
    assert "共 10 题" in page.content() and "第 1/10 题" in page.content()
    for i, q in enumerate(CULTURE):
        choice = q.answer if i < 7 else (q.answer + 1) % len(q.choices)
        label = page.locator("label.choice", has=page.locator(
            f'input[name="q{i}"][value="{choice}"]'))
        box = label.bounding_box()
        assert box and box["height"] >= 44, box
        label.tap()  # the label's text, not the small circle, is the target
        assert page.is_checked(f'input[name="q{i}"][value="{choice}"]')
    page.screenshot(path=str(SHOTS / "forms-quiz-phone.png"), full_page=True)
    page.get_by_role("button", name="提交答案").click()
    page.wait_for_load_state()
    result = page.content()
    assert "得分 70" in result and "答错的题目" in result and "正确答案：" in result
    assert re.search(r"第 8/10 题", result)
    page.screenshot(path=str(SHOTS / "forms-quiz-result-phone.png"), full_page=True)

    page.go_back()
    page.wait_for_load_state()
    assert "已于" in page.content() and "由 张伟 提交" in page.content()
    assert page.locator('input[type="radio"]').count() == 0
    page.get_by_text("返回学习页面").click()
    page.wait_for_load_state()
    assert "学习：企业文化" in page.content()
    page.close()


def test_a_handoff_over_the_size_limit_keeps_the_links_and_note_on_back(
        forms: Forms, server: str, browser, tmp_path: Path):  # noqa: F811
    forms.start_run()
    big = tmp_path / "cases.pdf"
    big.write_bytes(PDF + b"x" * (21 * 1024 * 1024))  # over the whole hand-off's 20.5 MB
    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
    token = forms.token("handoff", OWNER, "customer-communication")
    page.goto(f"{server}/handoff/customer-communication?t={token}")
    page.fill("#link-communication-scripts", "pan.example.com/s/scripts")
    page.fill("#note", "先看话术模板")
    page.set_input_files("#file-objection-cases", str(big))
    page.get_by_role("button", name="提交培训资料").click()
    page.wait_for_load_state()
    assert "提交的内容过大" in page.content() and "请返回" in page.content()
    page.go_back()  # as the page says: the browser brings back what was typed
    page.wait_for_load_state()
    assert page.input_value("#link-communication-scripts") == "pan.example.com/s/scripts"
    assert page.input_value("#note") == "先看话术模板"
    assert forms.sql("select count(*) from deliveries") == [(0,)]
    page.close()
