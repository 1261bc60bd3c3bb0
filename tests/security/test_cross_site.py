"""A POST sent from another site's page is refused (403) and changes nothing; our own forms,
and clients that send no browser headers, pass."""

from __future__ import annotations

import pytest

from tests.forms.conftest import Forms
from tests.security.conftest import HR

OWNER = "li.na@example.com"
FOREIGN = [
    {"Origin": "https://evil.example"},
    {"Origin": "http://127.0.0.1:8000.evil.example"},
    {"Referer": "https://evil.example/page"},
    # A foreign page that set no-referrer itself: Origin null, but the browser says cross-site.
    {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
    {"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "same-site"},
]


def files() -> dict:
    """A complete hand-off of customer communication: it would go through from our own page."""
    return {f"file-{m}": (f"{m}.pdf", b"%PDF-1.4", "application/pdf") for m in
            ("communication-scripts", "objection-cases", "communication-assessment")}


@pytest.mark.parametrize("headers", FOREIGN, ids=lambda h: ",".join(f"{k}={v}" for k, v in
                                                                   h.items()))
def test_a_cross_site_post_is_refused_and_changes_nothing(forms: Forms, headers: dict):
    forms.start_run()
    token = forms.token("handoff", OWNER, "customer-communication")
    url = f"/handoff/customer-communication?t={token}"
    before = forms.counts()
    refused = forms.client.post(url, files=files(), headers=headers)
    assert refused.status_code == 403 and "来自其他网站" in refused.text
    assert forms.refused(before, 1) == ["refused-cross-site"]
    assert forms.client.post(url, files=files()).status_code == 200  # the link still works

    before = forms.counts()
    assert forms.client.post("/hr/sign-in", data={"email": HR}, headers=headers) \
        .status_code == 403
    assert forms.refused(before, 1) == ["refused-cross-site"]


def test_our_own_forms_pass_and_only_they(forms: Forms):
    for i, headers in enumerate((
        {"Origin": "http://127.0.0.1:8000"},  # public_base_url
        {"Referer": "http://127.0.0.1:8000/hr/sign-in"},
        {"Origin": "null", "Sec-Fetch-Site": "same-origin"},  # our own form under no-referrer
        {},  # a script, not a browser: the link's token decides
    )):
        response = forms.client.post("/hr/sign-in", data={"email": f"someone{i}@example.com"},
                                     headers=headers)
        assert response.status_code == 200, headers
    # The request's own host is allowed on loopback only (testserver is not loopback).
    assert forms.client.post("/hr/sign-in", data={"email": HR},
                             headers={"Origin": "http://testserver"}).status_code == 403


def test_on_loopback_the_requests_own_host_is_allowed(forms: Forms):
    from fastapi.testclient import TestClient

    from forms.app import app

    local = TestClient(app, base_url="http://localhost:8123")
    assert local.post("/hr/sign-in", data={"email": HR},
                      headers={"Origin": "http://localhost:8123"}).status_code == 200
    assert local.post("/hr/sign-in", data={"email": HR},
                      headers={"Origin": "http://localhost:9999"}).status_code == 403
