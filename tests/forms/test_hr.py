"""HR pages behind a sign-in session: runs and who blocks them, a run's legs, RACI."""

from __future__ import annotations

from tests.forms.conftest import Forms
from tests.security.conftest import sign_in

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
    sign_in(forms, HR)
    runs = forms.client.get("/hr")
    assert runs.status_code == 200
    assert "张伟" in runs.text and "待市场部 李娜 提交「客户沟通」的培训资料" in runs.text
    assert f'href="/hr/runs/{run_id}"' in runs.text  # links between HR pages carry no token

    legs = forms.client.get(f"/hr/runs/{run_id}")
    assert legs.status_code == 200 and "客户沟通" in legs.text and "未交接" in legs.text

    raci = forms.client.get("/hr/positions/marketing-specialist")
    assert raci.status_code == 200 and "市场部" in raci.text and "客户沟通" in raci.text


def test_the_boss_may_read_and_a_hire_may_not(forms: Forms):
    forms.start_run()
    sign_in(forms, "boss@example.com")
    assert forms.client.get("/hr").status_code == 200

    forms.client.cookies.clear()
    assert forms.client.post("/hr/sign-in", data={"email": "zhang.wei@example.com"}) \
        .status_code == 200
    assert forms.sql("select count(*) from outbox where to_addr like '%zhang.wei%'") == [(0,)]
    # Even a sign-in link made for the hire (say, by a bug) is refused, and audited.
    token = forms.token("sign-in", "zhang.wei@example.com", "hr")
    before = forms.counts()["audit_log"]
    refused = forms.client.get(f"/hr/sign-in/confirm?t={token}")
    assert refused.status_code == 403
    assert forms.counts()["audit_log"] == before + 1
    assert forms.client.get("/hr").status_code == 401
