"""End to end in a real browser (Debian's chromium driven by Playwright), from the mailbox.

The owner opens the link in the email the SMTP server received and hands off the materials;
the run resumes and the hire is emailed; on a 390×844 phone screen the hire studies, fails
the quiz, receives the retest email, retakes it and passes. Screenshots are kept in
test-artifacts/screenshots.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path

import pytest

from storage.catalog import load_catalog
from tests.flows.conftest import Live, wait_for

pytestmark = pytest.mark.slow

SHOTS = Path("test-artifacts/screenshots")
HIRE = "chen.jie@example.com"
QUIZ = load_catalog().modules["python-basics"].quiz.questions



def link_in(message: EmailMessage, path: str) -> str:
    text = message.get_body(("plain",)).get_content()
    found = re.search(rf"(http://\S+{re.escape(path)}\S*\?t=\S+)", text)
    assert found, text
    return found.group(1)


def mail_about(live: Live, to: str, words: str) -> list[EmailMessage]:
    return [m for m in live.mail(to) if words in str(m["Subject"])]


def answer(page, right: int) -> None:
    for i, q in enumerate(QUIZ):
        choice = q.answer if i < right else (q.answer + 1) % len(q.choices)
        page.locator(f'input[name="q{i}"][value="{choice}"]').check()


def test_owner_hands_off_then_hire_fails_retakes_and_passes_on_a_phone(live: Live, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    run_id = live.hire("陈杰", HIRE, position="python-developer")
    live.wait_state(run_id, "Suspended", min_pass=1)
    request = wait_for(lambda: mail_about(live, "wang.lei@example.com", "Python"), 30,
                       what="the owner's email")[0]

    desk = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    desk.goto(link_in(request, "/handoff/python-basics"))
    desk.screenshot(path=str(SHOTS / "1-handoff-form.png"), full_page=True)
    for material in ["python-tutorial", "project-cases"]:
        sample = SHOTS.parent / f"{material}.pdf"
        sample.write_bytes(b"%PDF-1.4 sample material\n")
        desk.locator(f"#file-{material}").set_input_files(str(sample))
    desk.get_by_role("button", name="提交培训资料").click()
    desk.wait_for_load_state()
    assert "已交接" in desk.content()
    desk.screenshot(path=str(SHOTS / "2-handoff-done.png"), full_page=True)

    assignment = wait_for(lambda: mail_about(live, HIRE, "入职培训模块"), 30,
                          what="the hire's assignment email")[0]
    phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN",
                             is_mobile=True, has_touch=True)
    phone.goto(link_in(assignment, "/study/"))
    assert "《Python基础教程》" in phone.content()
    phone.screenshot(path=str(SHOTS / "3-study-phone.png"), full_page=True)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"

    phone.get_by_text("参加测验").click()
    answer(phone, right=6)
    phone.screenshot(path=str(SHOTS / "4-quiz-phone.png"), full_page=True)
    phone.get_by_role("button", name="提交答案").click()
    phone.wait_for_load_state()
    assert "得分 60" in phone.content() and "剩余机会：2 次" in phone.content()
    phone.screenshot(path=str(SHOTS / "5-failed-phone.png"), full_page=True)

    retest = wait_for(lambda: mail_about(live, HIRE, "测验未通过"), 30,
                      what="the retest email")[0]
    phone.goto(link_in(retest, "/study/"))
    phone.get_by_text("参加测验").click()
    answer(phone, right=9)
    phone.get_by_role("button", name="提交答案").click()
    phone.wait_for_load_state()
    assert "得分 90" in phone.content() and "已通过" in phone.content()
    phone.screenshot(path=str(SHOTS / "6-passed-phone.png"), full_page=True)

    wait_for(lambda: live.sql("select status from assignments where run_id = :r and "
                              "module_code = 'python-basics'", r=run_id) == [("passed",)], 5)
    live.wait_state(run_id, "Suspended", min_pass=3)
    assert "waiting:hr" in live.flow_run(run_id)["tags"]
    assert len(mail_about(live, HIRE, "测验未通过")) == 1
