"""The public default secret, or a short one, is refused wherever links or forms leave
loopback; links forged with the default secret open nothing."""

from __future__ import annotations

import pytest
from itsdangerous import URLSafeSerializer
from pydantic import SecretStr, ValidationError

from storage.settings import DEV_SECRET, Settings
from tasks.links import SALT
from tests.forms.conftest import Forms
from tests.installation import Configure
from tests.security.conftest import HR

HOW = "secrets.token_urlsafe(48)"


def test_the_default_secret_is_refused_when_the_forms_listen_beyond_loopback(
        monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("JIELI_PUBLIC_BASE_URL", "http://localhost:8000")
    assert Settings().secret_key.get_secret_value() == DEV_SECRET  # development on loopback
    monkeypatch.setenv("JIELI_FORMS_HOST", "0.0.0.0")
    with pytest.raises(ValidationError, match="JIELI_SECRET_KEY") as refused:
        Settings()
    assert HOW in str(refused.value)
    monkeypatch.setenv("JIELI_SECRET_KEY", "x")
    with pytest.raises(ValidationError, match="at least 32"):
        Settings()
    monkeypatch.setenv("JIELI_SECRET_KEY", "k" * 32)
    assert Settings().forms_host == "0.0.0.0"


def test_a_31_byte_secret_is_refused_in_production(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("JIELI_ENVIRONMENT", "production")
    monkeypatch.setenv("JIELI_SECRET_KEY", "k" * 31)
    with pytest.raises(ValidationError, match="31 bytes") as refused:
        Settings()
    assert HOW in str(refused.value)
    monkeypatch.setenv("JIELI_SECRET_KEY", "秘" * 11)  # 33 bytes in UTF-8
    assert Settings().environment == "production"


def test_short_secrets_are_refused_when_links_leave_loopback(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("JIELI_PUBLIC_BASE_URL", "https://jieli.example.com")
    monkeypatch.setenv("JIELI_SECRET_KEY", "x")
    with pytest.raises(ValidationError, match=HOW.replace("(", r"\(").replace(")", r"\)")):
        Settings()


def forge(action: str, person_id: int, object_id: str) -> str:
    """A link signed with the public default secret, as anyone who read the code could."""
    return str(URLSafeSerializer(DEV_SECRET, salt=SALT).dumps(
        {"a": action, "p": person_id, "o": object_id, "e": 4102444800, "n": "forged"}))


def test_links_forged_with_the_default_secret_open_nothing(forms: Forms,
                                                           configure: Configure):
    run_id = forms.start_run()
    configure(secret_key=SecretStr("an-operator-secret-" + "k" * 30))
    hr = forms.person_id(HR)
    sign_in = forge("sign-in", hr, "hr")
    assert forms.client.get(f"/hr/sign-in/confirm?t={sign_in}").status_code == 403
    assert forms.client.post(f"/hr/sign-in/confirm?t={sign_in}").status_code == 403
    assert forms.client.get(f"/record/{run_id}?t={forge('record', hr, str(run_id))}") \
        .status_code == 403
    for path in ("/hr", f"/hr/runs/{run_id}", "/hr/positions/marketing-specialist"):
        refused = forms.client.get(f"{path}?t={forge('hr', hr, 'hr')}")
        assert refused.status_code == 401 and "张伟" not in refused.text
    assert forms.sql("select count(*) from staff_sessions") == [(0,)]
    assert "jieli_hr" not in forms.client.cookies
