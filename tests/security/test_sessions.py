"""HR and the boss: a sign-in link works once, within 15 minutes, and opens a session held in
Jieli's database behind an HttpOnly cookie; sign-out and revocation end it."""

from __future__ import annotations

import re
from datetime import timedelta
from http.cookies import SimpleCookie

from pydantic import SecretStr
from typer.testing import CliRunner

from tests.forms.conftest import Forms
from tests.installation import Configure
from tests.security.conftest import BOSS, HR, sign_in, sign_in_link

STRONG_SECRET = "s" * 48


def set_cookie(response) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(response.headers["set-cookie"])
    return cookie


def sessions(forms: Forms) -> int:
    return forms.sql("select count(*) from staff_sessions")[0][0]


def test_a_sign_in_link_opens_one_session_once(forms: Forms):
    run_id = forms.start_run()
    link = sign_in_link(forms, HR)
    assert link.startswith("/hr/sign-in/confirm?t=")

    # A mail scanner's GET spends nothing: it shows a button.
    shown = forms.client.get(link)
    assert shown.status_code == 200 and "刘芳" in shown.text and 'method="post"' in shown.text
    assert forms.client.get(link).status_code == 200 and sessions(forms) == 0

    signed_in = forms.client.post(link, follow_redirects=False)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/hr"
    morsel = set_cookie(signed_in)["jieli_hr"]
    assert morsel["httponly"] and morsel["samesite"].lower() == "lax"
    assert morsel["path"] == "/hr" and not morsel["secure"]  # plain http on loopback
    assert sessions(forms) == 1

    runs = forms.client.get("/hr")
    assert runs.status_code == 200 and "张伟" in runs.text and "?t=" not in runs.text
    assert forms.client.get(f"/hr/runs/{run_id}").status_code == 200
    assert forms.client.get("/hr/positions/marketing-specialist").status_code == 200

    # The link is spent: a second press, or a second person it was forwarded to, gets nothing.
    forms.client.cookies.clear()
    again = forms.client.post(link, follow_redirects=False)
    assert again.status_code == 410 and "登录链接已失效" in again.text
    assert "set-cookie" not in again.headers
    assert forms.client.get(link).status_code == 410
    assert sessions(forms) == 1
    assert forms.client.get("/hr").status_code == 401


def test_a_sign_in_link_expires_after_15_minutes(forms: Forms, virtual_clock):
    link = sign_in_link(forms, HR)
    virtual_clock.advance(timedelta(minutes=14, seconds=50))
    assert forms.client.get(link).status_code == 200

    late = sign_in_link(forms, BOSS)
    virtual_clock.advance(timedelta(minutes=15))
    assert forms.client.get(late).status_code == 410
    refused = forms.client.post(late, follow_redirects=False)
    assert refused.status_code == 410 and "15 分钟" in refused.text
    assert sessions(forms) == 0 and forms.client.get("/hr").status_code == 401


def test_the_cookie_is_secure_when_links_leave_loopback(forms: Forms, configure: Configure):
    configure(public_base_url="https://jieli.example.com", secret_key=SecretStr(STRONG_SECRET))
    link = sign_in_link(forms, HR)
    morsel = set_cookie(forms.client.post(link, follow_redirects=False))["jieli_hr"]
    assert morsel["secure"] and morsel["httponly"] and morsel["samesite"].lower() == "lax"


def test_a_session_ends_on_sign_out_and_needs_its_csrf_token(forms: Forms):
    cookie = sign_in(forms, HR)
    page = forms.client.get("/hr")
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)

    before = forms.counts()
    assert forms.client.post("/hr/sign-out").status_code == 403
    assert forms.client.post("/hr/sign-out", data={"csrf": "0" * 64}).status_code == 403
    assert forms.counts() == before and forms.client.get("/hr").status_code == 200

    out = forms.client.post("/hr/sign-out", data={"csrf": csrf})
    assert out.status_code == 200 and "已退出登录" in out.text
    assert 'jieli_hr=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    # The old cookie, replayed (copied before sign-out), opens nothing any more.
    forms.client.cookies.set("jieli_hr", cookie, path="/hr")
    refused = forms.client.get("/hr")
    assert refused.status_code == 401 and "请先登录" in refused.text
    assert forms.sql("select count(*) from staff_sessions where revoked_at is not null") == [(1,)]


def test_revocation_ends_every_session_of_an_address(forms: Forms):
    from deployments.cli import app as cli

    first = sign_in(forms, HR)
    second = sign_in(forms, HR)  # another browser
    boss = sign_in(forms, BOSS)
    result = CliRunner().invoke(cli, ["--as", BOSS, "revoke-sessions", HR])
    assert result.exit_code == 0, result.output
    assert "已撤销 2 个会话" in result.output
    for cookie, status in ((first, 401), (second, 401), (boss, 200)):
        forms.client.cookies.clear()
        forms.client.cookies.set("jieli_hr", cookie, path="/hr")
        assert forms.client.get("/hr").status_code == status
    audit = forms.sql("select actor, detail from audit_log where action = 'revoked-sessions'")
    assert len(audit) == 1 and audit[0][0] == BOSS and '"sessions": 2' in audit[0][1]
    assert CliRunner().invoke(
        cli, ["--as", BOSS, "revoke-sessions", "nobody@example.com"]).exit_code == 1


def test_a_session_ends_after_two_idle_hours_or_twelve_hours(forms: Forms, virtual_clock):
    sign_in(forms, HR)
    for _ in range(6):  # busy all day: each visit within two hours of the last
        virtual_clock.advance(timedelta(hours=1, minutes=50))
        assert forms.client.get("/hr").status_code == 200
    virtual_clock.advance(timedelta(hours=1, minutes=10))  # 12 h 10 min after signing in
    assert forms.client.get("/hr").status_code == 401

    sign_in(forms, HR)
    virtual_clock.advance(timedelta(hours=2))
    assert forms.client.get("/hr").status_code == 401


def test_hr_pages_take_no_token_in_the_url(forms: Forms):
    run_id = forms.start_run()
    old_style = forms.token("hr", HR, "hr")  # what the sign-in email used to carry
    sign_in_token = sign_in_link(forms, HR).split("t=", 1)[1]
    for token in (old_style, sign_in_token):
        for path in ("/hr", f"/hr/runs/{run_id}", "/hr/positions/marketing-specialist"):
            response = forms.client.get(f"{path}?t={token}")
            assert response.status_code == 401 and "张伟" not in response.text, path
