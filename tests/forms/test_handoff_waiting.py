"""The hand-off page shows every hire waiting on the module, the folded requests included."""

from __future__ import annotations

import re

from tests.forms.conftest import Forms


def test_the_handoff_page_lists_every_hire_waiting_for_the_materials(forms: Forms):
    forms.start_run("zhang.wei@example.com")
    forms.start_run("zhao.min@example.com")  # asked in the same minute: no second email
    assert forms.sql("select count(*) from outbox where kind = 'handoff-request' and "
                     "to_addr like '%li.na@example.com%'") == [(1,)]
    t = forms.token("handoff", "li.na@example.com", "customer-communication")
    page = forms.client.get(f"/handoff/customer-communication?t={t}")
    assert page.status_code == 200
    assert "在等这份资料的新员工" in page.text
    # Both runs' hires are 张伟 on 1 Dec (in the tense of today: will join, joined).
    assert len(re.findall(r"张伟（市场专员），(将于|已于|于今天)(2026年)?12月1日（周二）入职，资料",
                          page.text)) == 2
