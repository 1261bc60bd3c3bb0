"""The practice legs on a phone (390x844) in Debian's chromium, from the links of the emails a
real SMTP server received, against the forms app served by uvicorn: a coach records a session
and the hire disputes it; the hire hands in the assignment, the reviewer grades it below the
mark, the hire hands in again and it passes. Each page is kept as a screenshot under
test-artifacts/screenshots/practice/ and none makes the phone scroll sideways."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.forms.conftest import Forms
from tests.forms.test_every_page import SIDEWAYS
from tests.forms.test_practice import (
    HIRE,
    MODULE,
    OWNER,
    TITLE,
    Practice,
    practice_on,
    said,
    today,
)
from tests.installation import Configure
from tests.security.conftest import server  # noqa: F401  (the fixture, for this module)

pytestmark = pytest.mark.slow

SHOTS = Path("test-artifacts/screenshots/practice")
PDF = b"%PDF-1.4 csv summary, second version\n"
FILE_NAME = "CSV_summary_program_second_version_with_unit_tests_and_readme.pdf"


@pytest.fixture
def practice(forms: Forms, server: str,  # noqa: F811  (the fixture)
             configure: Configure) -> Iterator[Practice]:
    """The practice legs opened once the app is served, so the emails link to it."""
    with practice_on(forms, configure) as p:
        yield p


@pytest.fixture
def phone(browser) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, locale="zh-CN")
    yield context.new_page()
    context.close()


def emailed(p: Practice, server: str, to: str, path: str) -> str:  # noqa: F811
    """The newest link under `path` in the mail `to` received: the address the person opens."""
    p.send()
    link = p.inbox.link(to, re.escape(path))
    assert link is not None and link.startswith(f"{server}{path}"), (to, path, link)
    return link


def shown(page: Any, name: str) -> str:
    """Keep the page as a screenshot; fail when the phone must scroll it sideways."""
    page.wait_for_load_state()
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert page.evaluate(SIDEWAYS) == [], name
    return page.content()


def press(page: Any, button: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=said(button)).click()


def test_a_session_disputed_and_an_assignment_passed_on_the_second_hand_in(
        practice: Practice, server: str, phone: Any, tmp_path: Path):  # noqa: F811
    p, page = practice, phone
    SHOTS.mkdir(parents=True, exist_ok=True)

    # The coach records a session from the coaching request.
    page.goto(emailed(p, server, OWNER, f"/coaching/{p.key}?t="))
    assert "张伟" in shown(page, "coaching-form") and TITLE in page.content()
    page.get_by_label(said("Date"), exact=True).fill(today())
    page.get_by_label(said("Minutes"), exact=True).fill("45")
    page.get_by_label(said("Topic"), exact=True).fill("单元测试入门")
    press(page, "Record the session")
    assert "单元测试入门" in shown(page, "coaching-recorded")
    assert p.forms.sql("select minutes, topic, answer from coaching_sessions") == [
        (45, "单元测试入门", "pending")]

    # The hire says it did not take place.
    page.goto(emailed(p, server, HIRE, "/coaching/sessions/"))
    assert "单元测试入门" in shown(page, "coaching-question")
    page.get_by_label(said("No, it did not take place")).check()
    page.get_by_label(said("Comment (optional)")).fill("那天我请假了")
    press(page, "Send my answer")
    assert said("It does not count as coaching given in «%(module)s», and nothing else "
                "changed. The department still owes the sessions it has not given; HR sees "
                "your answer in your training record.", module=TITLE
                ) in shown(page, "coaching-answer-disputed")
    assert p.forms.sql("select answer, hire_comment from coaching_sessions") == [
        ("disputed", "那天我请假了")]
    assert p.gate("coaching") == ("technology", True)
    page.go_back()  # the answered question, again: no form
    page.reload()
    assert page.locator('input[name="answer"]').count() == 0

    # The hire hands in a link from the assignment's email.
    page.goto(emailed(p, server, HIRE, f"/submit/{p.key}?t="))
    assert "编程作业" in shown(page, "submit-form")
    page.get_by_label(said("or a link")).fill("github.com/zhangwei/csv-summary")
    page.get_by_label(said("Note for the reviewer (optional)")).fill("README 里有运行方法")
    press(page, "Hand in the assignment")
    assert "#1" in shown(page, "submit-handed-in")

    # The reviewer grades it below the mark from the grading request.
    page.goto(emailed(p, server, OWNER, "/grade/"))
    assert "github.com/zhangwei/csv-summary" in shown(page, "grade-form")
    score = said("Score (0–100)")
    page.locator("fieldset", has_text="正确性").get_by_label(score).fill("50")
    page.locator("fieldset", has_text="正确性").get_by_label(said("Comment")).fill("空文件会崩溃")
    page.locator("fieldset", has_text="代码风格").get_by_label(score).fill("75")
    press(page, "Record the grade")
    assert "#1" in shown(page, "grade-recorded-below-mark")
    assert p.graded() == [(1, True, False)]

    # The hire reads the grade and hands in again, a file this time, from the result's link.
    page.goto(emailed(p, server, HIRE, f"/submit/{p.key}?t="))
    result = shown(page, "grade-result-below-mark")
    assert "空文件会崩溃" in result and "50" in result
    work = tmp_path / FILE_NAME  # a long name with no place to break it
    work.write_bytes(PDF)
    page.get_by_label(said("File"), exact=True).set_input_files(str(work))
    press(page, "Hand in the assignment")
    assert "#2" in shown(page, "submit-handed-in-again")

    page.goto(emailed(p, server, OWNER, "/grade/"))
    assert "#2" in shown(page, "grade-form-second")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile(FILE_NAME)).click()
    assert Path(download.value.path()).read_bytes() == PDF
    page.locator("fieldset", has_text="正确性").get_by_label(score).fill("85")
    page.locator("fieldset", has_text="代码风格").get_by_label(score).fill("70")
    press(page, "Record the grade")
    shown(page, "grade-recorded-passed")
    assert p.graded() == [(1, True, False), (2, True, True)]

    page.goto(emailed(p, server, HIRE, f"/submit/{p.key}?t="))  # the link kept from before
    passed = shown(page, "second-hand-in-passed")
    assert said("Passed. Well done.") in passed and "85" in passed
    assert page.locator('input[name="link"]').count() == 0
    assert p.gate("review") == ("technology", False)
    assert p.forms.sql("select module_code from submissions order by number") == [
        (MODULE,), (MODULE,)]
