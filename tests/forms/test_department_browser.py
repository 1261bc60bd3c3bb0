"""Departments keep their modules, in Debian's chromium at 390 px (a phone) and 1280 px, in
Chinese, against the forms app served by uvicorn with a real SMTP server: marketing's owner
signs in from the emailed link, replaces a material and edits a quiz question; the hire studying
that module gets the email and the new version; the owner opening the culture module's page,
and HR opening a marketing material's edit page or sending its archive ("delete") action, get
the 403 page and one audit row each. Every page is kept as a screenshot under
test-artifacts/screenshots/department/ and fails on sideways scrolling, a catalog code or an
ISO date in its text, English left in it or Latin punctuation after Chinese.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from deployments.simulate import Mailbox
from deployments.stack import free_port
from storage import repo
from tests.forms.conftest import Forms
from tests.forms.test_every_page import ENGLISH, HALF_WIDTH, SIDEWAYS
from tests.installation import Configure
from tests.security.conftest import serving
from tests.visible_text import Reading

pytestmark = pytest.mark.slow

SHOTS = Path("test-artifacts/screenshots/department")
OWNER, HR, HIRE = "li.na@example.com", "liu.fang@example.com", "zhang.wei@example.com"
MODULE, MATERIAL = "customer-communication", "communication-scripts"
PDF = b"%PDF-1.4 scripts, second edition\n"


@dataclass
class Site:
    forms: Forms
    base: str
    inbox: Mailbox

    def audit_rows(self) -> int:
        return self.forms.sql("select count(*) from audit_log")[0][0]

    def mail(self, to: str, subject_part: str, link_part: str) -> str:
        """The link under `link_part` in the newest message to `to` whose subject has
        `subject_part`, once it arrived (mail goes out after the page answered)."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for message in reversed(self.inbox.to(to)):
                if subject_part in str(message["Subject"]):
                    body = message.get_body(("plain",))
                    assert body is not None
                    found = [w for w in body.get_content().split() if link_part in w]
                    if found:
                        return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"no email to {to} about {subject_part!r}")


@pytest.fixture
def site(forms: Forms, configure: Configure) -> Iterator[Site]:
    """A marketing specialist studying customer communication (its materials handed off as
    links), culture handed off by HR; mail to a real SMTP server; the app behind uvicorn."""
    from tasks.handoff import deliver_materials
    from tasks.learning import assign_ready_modules

    inbox, port = Mailbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    configure(smtp_port=port)
    try:
        run_id = forms.start_run()
        deliver_materials(module_code=MODULE, by_email=OWNER, via="cli", items=[
            repo.MaterialItem(material_code=code, link=f"https://pan.example.com/s/{n}")
            for n, code in enumerate(("communication-scripts", "objection-cases",
                                      "communication-assessment"), 1)])
        deliver_materials(module_code="culture", by_email=HR, via="cli", items=[
            repo.MaterialItem(material_code=code, link=f"https://pan.example.com/s/c{n}")
            for n, code in enumerate(("culture-handbook", "company-history"), 1)])
        assert set(assign_ready_modules.fn(run_id)) == {MODULE, "culture"}
        with serving() as base:
            yield Site(forms, base, inbox)
    finally:
        smtp.stop()


def looked_at(page: Any, name: str, width: int) -> None:
    """Keep a screenshot; fail on what a reader of the Chinese page should not meet."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    text = page.inner_text("body")
    problems: dict[str, Any] = Reading({name: text}).problems("zh_CN")
    if page.get_attribute("html", "lang") != "zh-CN":
        problems["html lang"] = page.get_attribute("html", "lang")
    if page.evaluate(SIDEWAYS):
        problems["scrolls sideways"] = page.evaluate(SIDEWAYS)
    if HALF_WIDTH.findall(text):
        problems["Latin punctuation in Chinese"] = HALF_WIDTH.findall(text)
    if ENGLISH.findall(text):
        problems["English in Chinese"] = ENGLISH.findall(text)
    assert problems == {}, text


def press(page: Any, name: str) -> Any:
    """Press the button named `name`; the response of the page it leads to."""
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=name).click()
    return navigation.value


def signed_in(site: Site, browser: Any, width: int, email: str) -> Any:
    """A browser (phone-sized at 390) whose person signed in from the emailed link."""
    phone = width == 390
    context = browser.new_context(viewport={"width": width, "height": 844 if phone else 800},
                                  is_mobile=phone, has_touch=phone, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{site.base}/dept/sign-in")
    looked_at(page, "sign-in", width)
    page.fill("#email", email)
    assert press(page, "发送登录链接").status == 200
    page.goto(site.mail(email, "登录链接", "/dept/sign-in/"))
    looked_at(page, "sign-in-confirm", width)
    press(page, "登录")
    assert page.url == f"{site.base}/dept"
    return page


@pytest.mark.parametrize("width", [390, 1280])
def test_marketing_keeps_its_module_and_nobody_else_may(site: Site, browser, width: int,
                                                        tmp_path: Path):
    page = signed_in(site, browser, width, OWNER)
    assert "客户沟通" in page.content() and "张伟" in page.content()
    looked_at(page, "modules", width)

    # Replace the scripts with a file: version 2, the studying hire emailed.
    page.get_by_role("link", name="客户沟通").first.click()
    page.wait_for_load_state()
    looked_at(page, "module", width)
    page.get_by_role("link", name="《客户沟通话术模板》").click()
    page.wait_for_load_state()
    looked_at(page, "material", width)
    scripts = tmp_path / "话术模板第二版.pdf"
    scripts.write_bytes(PDF)
    page.set_input_files("#file", str(scripts))
    page.fill("#note", "新增了报价话术")
    assert press(page, "保存为新版本").status == 200
    assert "资料第 2 版已保存" in page.content()
    assert "已发邮件通知正在学习本模块的 1 名新员工" in page.content()
    looked_at(page, "module-saved", width)

    hire = browser.new_context(viewport=page.viewport_size, locale="zh-CN")  # the hire's own
    hire_page = hire.new_page()
    hire_page.goto(site.mail(HIRE, "第 2 版", "/study/"))
    assert "话术模板第二版.pdf" in hire_page.content()
    looked_at(hire_page, "hire-study", width)

    # Edit question 1 of the quiz: version 2, which the hire's quiz now asks.
    page.get_by_role("link", name="修改测验").click()
    page.wait_for_load_state()
    looked_at(page, "quiz-form", width)
    page.fill("#q0-text-zh_CN", "客户第一次来电时，应先做什么？")
    assert press(page, "保存为测验新版本").status == 200
    assert "测验第 2 版已保存" in page.content()
    (assignment,), = site.forms.sql("select id from assignments where module_code = :m",
                                    m=MODULE)
    hire_page.goto(f"{site.base}/quiz/{assignment}?t="
                   f"{site.forms.token('quiz', HIRE, str(assignment))}")
    assert "客户第一次来电时，应先做什么？" in hire_page.content()
    hire.close()

    # The culture module is HR's: a 403 page and one audit row.
    before = site.audit_rows()
    refused = page.goto(f"{site.base}/dept/modules/culture")
    assert refused.status == 403 and "您无权修改这个模块" in page.content()
    assert site.audit_rows() == before + 1
    looked_at(page, "refused-owner", width)
    page.context.close()

    # HR keeps culture, not marketing's materials: its edit page and its archive action.
    hr = signed_in(site, browser, width, HR)
    before = site.audit_rows()
    refused = hr.goto(f"{site.base}/dept/modules/{MODULE}/materials/{MATERIAL}")
    assert refused.status == 403 and "您无权修改这个模块" in hr.content()
    assert site.audit_rows() == before + 1
    looked_at(hr, "refused-hr-edit", width)
    hr.goto(f"{site.base}/dept/modules/culture/materials/culture-handbook")
    archive = hr.locator("form[action$='/archive']")
    archive.evaluate(f"form => form.action = '/dept/modules/{MODULE}/materials/{MATERIAL}"
                     "/archive'")  # a forged form: HR's own session and token, marketing's URL
    before, deliveries = site.audit_rows(), site.forms.counts()["deliveries"]
    assert press(hr, "归档这份资料").status == 403
    assert "您无权修改这个模块" in hr.content()
    assert site.audit_rows() == before + 1
    assert site.forms.counts()["deliveries"] == deliveries
    assert site.forms.sql("select action, actor from audit_log order by id desc limit 1") == [
        ("refused:edit-module", HR)]
    looked_at(hr, "refused-hr-archive", width)
    hr.context.close()
