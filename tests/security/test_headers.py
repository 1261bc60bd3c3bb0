"""Every response carries the security headers; pages and downloads are never cached, never
framed, and a material downloads as an attachment."""

from __future__ import annotations

import re
from pathlib import Path

from tasks.learning import assign_ready_modules
from tests.forms.conftest import Forms
from tests.security.conftest import HIRE, HR, sign_in

TEMPLATES = Path(__file__).resolve().parents[2] / "forms" / "templates"


def assert_secure(response, path: str) -> None:
    csp = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp, path
    assert "script-src" not in csp or "'unsafe-inline'" not in csp.split("script-src")[1] \
        .split(";")[0], path
    assert response.headers.get("referrer-policy") == "no-referrer", path
    assert response.headers.get("x-content-type-options") == "nosniff", path
    assert response.headers.get("cache-control") == "no-store", path
    assert response.headers.get("x-frame-options") == "DENY", path


def test_pages_and_downloads_carry_the_security_headers(forms: Forms):
    run_id = forms.start_run(position="python-developer")
    handoff = f"/handoff/culture?t={forms.token('handoff', HR, 'culture')}"
    assert forms.client.post(handoff, files={
        "file-culture-handbook": ("手册.pdf", b"%PDF-1.4 handbook", "application/pdf"),
        "file-company-history": ("history.txt", b"<script>alert(1)</script>", "text/html"),
    }).status_code == 200
    assert "culture" in assign_ready_modules.fn(run_id)
    assignment = forms.sql("select id from assignments where module_code = 'culture'")[0][0]
    study = f"/study/{assignment}?t={forms.token('study', HIRE, str(assignment))}"
    page = forms.client.get(study)
    downloads = re.findall(r'href="(/study/\d+/materials/\d+\?t=[^"]+)"', page.text)
    assert len(downloads) == 2

    handoff = f"/handoff/culture?t={forms.token('handoff', HR, 'culture')}"  # a fresh link
    responses = {path: forms.client.get(path) for path in
                 ("/", "/hr/sign-in", study, handoff, "/hr", "/healthz", *downloads)}
    responses["POST /hr/sign-in"] = forms.client.post("/hr/sign-in", data={"email": HR})
    sign_in(forms, HR)
    responses["/hr signed in"] = forms.client.get("/hr")
    responses[f"/hr/runs/{run_id}"] = forms.client.get(f"/hr/runs/{run_id}")
    for path, response in responses.items():
        assert response.status_code in (200, 401), path
        assert_secure(response, path)
    for path in downloads:
        assert responses[path].headers["content-disposition"].startswith("attachment"), path
    # The policy runs no script, so no page may need one.
    for template in TEMPLATES.glob("*.html"):
        html = template.read_text()
        assert "<script" not in html.lower(), template.name
        assert not re.search(r"\son[a-z]+\s*=", html), template.name
        assert "javascript:" not in html.lower(), template.name
