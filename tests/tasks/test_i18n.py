"""Every user-facing string is in both catalogs, and emails render in each language."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po

from tasks.email import Recipient, render
from tasks.i18n import LOCALES_DIR
from tools.update_translations import extracted


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_string_is_translated(locale: str):
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=locale)
    translated = {m.id for m in catalog if m.id and m.string}
    messages = set(extracted())
    assert len(messages) > 20
    assert sorted(messages - translated) == []


def test_a_handoff_request_reads_chinese_first_and_english_on_request():
    ctx = dict(hire="张伟", position="市场专员", start="2026-12-01", module="客户沟通",
               materials=["《客户沟通话术模板》"], due="2026-12-03", link="http://x/h?t=1")
    zh = render("handoff_request", to=Recipient("李娜", "li.na@example.com"), **ctx)
    assert zh["Subject"] == "需要资料：新员工 张伟 的「客户沟通」"
    text = zh.get_body(("plain",)).get_content()
    assert "李娜，您好" in text and "请在 2026-12-03 前提交" in text and "http://x/h?t=1" in text
    html = zh.get_body(("html",)).get_content()
    assert 'href="http://x/h?t=1"' in html and "提交培训资料" in html

    en = render("handoff_request", to=Recipient("Emily", "e@example.com", "en"), **ctx)
    assert en["Subject"].startswith("Materials needed:")
    assert "Please hand them off by 2026-12-03" in en.get_body(("plain",)).get_content()


def test_the_forms_home_page_follows_accept_language():
    from fastapi.testclient import TestClient

    from forms.app import app

    client = TestClient(app)
    zh = client.get("/")
    assert zh.status_code == 200 and "请打开接力系统邮件中的链接" in zh.text
    assert 'lang="zh-CN"' in zh.text
    en = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Open the link in your email" in en.text and 'lang="en"' in en.text
