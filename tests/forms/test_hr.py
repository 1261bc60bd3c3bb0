"""HR pages behind an emailed sign-in link: runs and who blocks them, a run's legs, RACI."""

from __future__ import annotations

from tests.forms.conftest import Forms

HR = "liu.fang@example.com"


def test_sign_in_emails_hr_and_answers_strangers_the_same(forms: Forms):
    page = forms.client.get("/hr/sign-in")
    assert page.status_code == 200 and 'name="email"' in page.text
    staff = forms.client.post("/hr/sign-in", data={"email": HR})
    stranger = forms.client.post("/hr/sign-in", data={"email": "nobody@example.com"})
    assert staff.status_code == stranger.status_code == 200
    assert "登录链接" in staff.text and staff.text == stranger.text
    rows = forms.sql("select to_addr, kind from outbox")
    assert len(rows) == 1 and HR in rows[0][0] and rows[0][1] == "hr-sign-in"
    assert forms.client.post("/hr/sign-in", data={"email": "not an email"}).status_code == 422


def test_hr_sees_who_blocks_each_run_its_legs_and_the_raci(forms: Forms):
    run_id = forms.start_run()
    token = forms.token("hr", HR, "hr")
    runs = forms.client.get(f"/hr?t={token}")
    assert runs.status_code == 200
    assert "张伟" in runs.text and "等待 李娜（marketing）提供 客户沟通" in runs.text

    legs = forms.client.get(f"/hr/runs/{run_id}?t={token}")
    assert legs.status_code == 200 and "客户沟通" in legs.text and "未交接" in legs.text

    raci = forms.client.get(f"/hr/positions/marketing-specialist?t={token}")
    assert raci.status_code == 200 and "市场部" in raci.text and "客户沟通" in raci.text


def test_the_boss_may_read_and_a_hire_may_not(forms: Forms):
    forms.start_run()
    assert forms.client.get(f"/hr?t={forms.token('hr', 'boss@example.com', 'hr')}") \
        .status_code == 200
    before = forms.counts()["audit_log"]
    refused = forms.client.get(f"/hr?t={forms.token('hr', 'zhang.wei@example.com', 'hr')}")
    assert refused.status_code == 403
    assert forms.counts()["audit_log"] == before + 1
