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
    assert "李娜，以下新员工在等这个模块的资料，请在" in page.text
    # Both runs' hires are 张伟 on 1 Dec (in the tense of today: will join, joined).
    assert len(re.findall(r"张伟（市场专员），(将于|已于|于今天)(2026年)?12月1日（周二）入职，资料",
                          page.text)) == 2


def test_the_handoff_page_says_by_when_and_which_files_it_takes(forms: Forms):
    from tasks.dates import local_date, spoken_day

    forms.start_run("zhang.wei@example.com")
    (due,) = forms.sql("select due_at from handoffs")[0]
    day = spoken_day(local_date(forms.moment(due)), "zh_CN")
    t = forms.token("handoff", "li.na@example.com", "customer-communication")
    page = forms.client.get(f"/handoff/customer-communication?t={t}").text
    assert f"请在{day}前提交" in page
    assert "可上传的文件类型：" in page and "PDF" in page and "DOCX" in page
    assert "合计不超过 20 MB" in page
    assert 'accept=".pdf,.doc,.docx' in page  # the browser's file picker offers only these
    # A link may be typed as a browser shows it, without https:// (no type=url refusal).
    assert 'inputmode="url"' in page and 'type="url"' not in page
