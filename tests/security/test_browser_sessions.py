"""In Debian's chromium: HR signs in from the emailed link and out again on a phone screen, the
cookie is out of the page's reach, and no other site can frame a page of Jieli."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.forms.conftest import Forms
from tests.security.conftest import HIRE, HR, emailed_links

pytestmark = pytest.mark.slow

SHOTS = Path("test-artifacts/screenshots")



def test_hr_signs_in_from_the_email_and_out_again_on_a_phone(forms: Forms, server: str,
                                                             browser):
    forms.start_run()
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{server}/hr")
    assert "请先登录" in page.content()
    page.click("text=发送登录链接")
    page.fill("#email", HR)
    page.click("button[type=submit]")
    assert "登录链接已发出" in page.content()  # our own form passed the cross-site check

    link = emailed_links(forms, HR, "hr-sign-in")[-1]
    page.goto(f"{server}{link}")
    page.screenshot(path=str(SHOTS / "security-sign-in-button.png"))
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/hr")
    assert "张伟" in page.content() and "t=" not in page.url
    page.screenshot(path=str(SHOTS / "security-hr-runs.png"))
    cookie = next(c for c in context.cookies() if c["name"] == "jieli_hr")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/hr"
    assert "jieli_hr" not in page.evaluate("document.cookie")

    page.click("text=退出登录")
    assert "已退出登录" in page.content()
    page.goto(f"{server}/hr")
    assert "请先登录" in page.content() and "张伟" not in page.content()
    page.goto(f"{server}{link}")
    assert "登录链接已失效" in page.content()
    context.close()


def test_no_other_site_can_frame_a_page(forms: Forms, server: str, browser):
    run_id = forms.start_run()
    from tasks.handoff import deliver_materials
    from tasks.learning import assign_ready_modules

    deliver_materials(module_code="customer-communication", by_email="li.na@example.com",
                      via="cli")
    assign_ready_modules.fn(run_id)
    assignment = forms.sql("select id from assignments")[0][0]
    study = f"{server}/study/{assignment}?t={forms.token('study', HIRE, str(assignment))}"
    page = browser.new_page(locale="zh-CN")
    page.goto(study)
    assert "客户沟通" in page.content()  # the page itself renders under its policy
    page.set_content(f'<iframe src="{study}" width="400" height="400"></iframe>')
    page.wait_for_timeout(1500)  # a blocked frame raises no event to wait for
    framed = page.frames[1]
    assert "客户沟通" not in framed.content()
    page.close()
