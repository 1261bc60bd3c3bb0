"""The verdict email's link opens that hire's training record, read-only, and nothing else."""

from __future__ import annotations

from urllib.parse import urlsplit

from tasks.attribution import record_link
from tests.forms.conftest import Forms
from tests.security.conftest import BOSS, HIRE, HR


def path_of(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def test_the_verdict_link_opens_that_runs_record_only(forms: Forms):
    run_id = forms.start_run()
    other = forms.start_run(email="wang.fang@example.com", position="python-developer")
    link = path_of(record_link(person_id=forms.person_id(HR), run_id=run_id))
    token = link.split("t=", 1)[1]

    record = forms.client.get(link)
    assert record.status_code == 200
    assert "张伟" in record.text and "客户沟通" in record.text and "只读" in record.text
    assert 'href="/hr' not in record.text and "/hr/sign-out" not in record.text
    assert forms.client.get(link).status_code == 200  # reading does not spend it

    before = forms.counts()
    assert forms.client.get(f"/record/{other}?t={token}").status_code == 403
    for path in ("/hr", f"/hr/runs/{run_id}", f"/hr/runs/{other}",
                 "/hr/positions/marketing-specialist"):
        refused = forms.client.get(f"{path}?t={token}")
        assert refused.status_code == 401 and "张伟" not in refused.text, path
    assert forms.client.post(link).status_code == 405
    assert forms.client.get(f"/hr/sign-in/confirm?t={token}").status_code == 403
    assert forms.counts()["outbox"] == before["outbox"]
    assert forms.sql("select count(*) from staff_sessions") == [(0,)]


def test_the_record_link_is_bound_to_its_reader(forms: Forms):
    run_id = forms.start_run()
    assert forms.client.get(path_of(record_link(person_id=forms.person_id(BOSS),
                                                run_id=run_id))).status_code == 200
    # A record link made out to someone without the right to read records opens nothing.
    refused = forms.client.get(path_of(record_link(person_id=forms.person_id(HIRE),
                                                   run_id=run_id)))
    assert refused.status_code == 403 and "张伟 ·" not in refused.text
