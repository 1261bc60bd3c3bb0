"""Email links: each acts once, for one person, one action, one object, until it expires."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from storage.settings import get_settings
from tests.forms.conftest import Forms

OWNER = "li.na@example.com"
MATERIALS = ["communication-scripts", "objection-cases", "communication-assessment"]


PDF = b"%PDF-1.4\n"  # files are checked by content: a PDF starts with its signature


def files(suffix: str = ".pdf", size: int = 1000) -> dict:
    return {f"file-{m}": (f"{m}{suffix}", PDF + b"x" * size, "application/octet-stream")
            for m in MATERIALS}


def handoff_url(forms: Forms) -> str:
    token = forms.token("handoff", OWNER, "customer-communication")
    return f"/handoff/customer-communication?t={token}"


def test_an_owner_hands_off_through_the_link(forms: Forms):
    run_id = forms.start_run()
    url = handoff_url(forms)
    form = forms.client.get(url)
    assert form.status_code == 200
    assert "《客户沟通话术模板》" in form.text and 'type="file"' in form.text

    done = forms.client.post(url, files=files(), data={"note": "先看话术模板"})
    assert done.status_code == 200, done.text
    assert "已交接" in done.text or "handed off" in done.text
    assert forms.sql("select count(*) from delivered_materials") == [(3,)]
    stored = forms.sql("select file_path from delivered_materials")
    assert all(Path(p).read_bytes() == PDF + b"x" * 1000 for (p,) in stored)
    assert forms.sql("select delivered_at is not null from handoffs where run_id = :r and "
                     "module_code = 'customer-communication'", r=run_id) == [(1,)]
    assert forms.sql("select actor, via from audit_log where action = 'materials-delivered'") \
        == [(OWNER, "link")]
    # Prefect is out of reach here: the run keeps its resume request for the sweep.
    assert forms.sql("select resume_requested_at is not null from runs") == [(1,)]


def test_a_reused_link_changes_nothing_and_says_when_and_by_whom(forms: Forms):
    forms.start_run()
    url = handoff_url(forms)
    assert forms.client.post(url, files=files()).status_code == 200
    (used_at,) = forms.sql("select used_at from used_links")[0]
    from tasks.dates import spoken_day

    said = f"已于{spoken_day(forms.moment(used_at), 'zh_CN')}由 李娜 提交"
    before = forms.counts()
    again = forms.client.post(url, files=files())
    assert again.status_code == 410
    assert "已经提交" in again.text and said in again.text
    assert forms.refused(before, 1) == ["refused-link:used"]
    # Opened again (from the email, or Back), it says so before anyone fills anything in.
    before = forms.counts()
    page = forms.client.get(url)
    assert page.status_code == 410 and said in page.text
    assert 'type="file"' not in page.text
    assert forms.counts() == before
    # A new link (a reminder's, say) shows the form, and says what it would replace.
    fresh = forms.client.get(handoff_url(forms))
    assert fresh.status_code == 200 and 'type="file"' in fresh.text
    assert said.replace("提交", "交接").replace("已于", "这些资料已于") in fresh.text
    assert "没有新员工在等这份资料" in fresh.text


def test_an_expired_link_changes_nothing(forms: Forms):
    forms.start_run()
    token = forms.token("handoff", OWNER, "customer-communication", timedelta(seconds=-1))
    before = forms.counts()
    for response in (forms.client.get(f"/handoff/customer-communication?t={token}"),
                     forms.client.post(f"/handoff/customer-communication?t={token}",
                                       files=files())):
        assert response.status_code == 410
        assert "链接已过期" in response.text
    assert forms.refused(before, 2) == ["refused-link:expired"] * 2


def test_a_tampered_link_changes_nothing(forms: Forms):
    forms.start_run()
    token = forms.token("handoff", OWNER, "customer-communication")
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    before = forms.counts()
    response = forms.client.post(f"/handoff/customer-communication?t={tampered}", files=files())
    assert response.status_code == 403
    assert "链接无效" in response.text
    # A genuine token used on another object is refused the same way.
    other = forms.client.get(f"/handoff/proposal-writing?t={token}")
    assert other.status_code == 403
    assert forms.refused(before, 2) == ["refused-link:invalid"] * 2


def test_a_link_on_another_departments_module_is_refused_and_audited(forms: Forms):
    forms.start_run(position="python-developer")
    token = forms.token("handoff", OWNER, "python-basics")
    before = forms.counts()
    response = forms.client.post(f"/handoff/python-basics?t={token}", files=files())
    assert response.status_code == 403
    assert "无权" in response.text
    assert forms.refused(before, 1) == ["refused:handoff"]
    assert forms.sql("select actor, action, object_id from audit_log order by id desc limit 1") \
        == [(OWNER, "refused:handoff", "python-basics")]


def test_error_pages_speak_the_readers_language(forms: Forms):
    response = forms.client.get("/handoff/culture?t=nonsense",
                                headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert response.status_code == 403
    assert "This link is not valid" in response.text and 'lang="en"' in response.text
    assert "链接无效" in forms.client.get("/handoff/culture?t=nonsense").text


def test_a_refused_upload_stores_nothing(forms: Forms):
    forms.start_run()
    url = handoff_url(forms)
    before = forms.counts()
    # One file just over 20 MB: the request fits the body limit, the file does not.
    too_big = {**files(), "file-objection-cases": ("big.pdf", PDF + b"x" * (20 * 1024 * 1024),
                                                   "application/pdf")}
    response = forms.client.post(url, files=too_big)
    assert response.status_code == 422
    assert "文件过大" in response.text
    wrong_type = files(suffix=".exe")
    response = forms.client.post(url, files=wrong_type)
    assert response.status_code == 422
    assert "不接受此类型" in response.text and ".exe" in response.text
    assert forms.counts() == before
    # No material is in place; the accepted files are only held for this link's next submit.
    materials = get_settings().data_dir / "materials"
    assert [p.name for p in materials.iterdir()] == [".held"]
    # The link was not spent by the refusals; once it hands off, nothing stays held.
    assert forms.client.post(url, files=files()).status_code == 200
    assert not any((materials / ".held").iterdir())
