"""Settings come from JIELI_* variables; the development secret is refused elsewhere."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from storage.settings import Settings


def test_defaults_are_the_embedded_stack(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setenv("JIELI_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.storage_url == f"sqlite:///{tmp_path / 'jieli.db'}"
    assert settings.prefect_api_url == "http://127.0.0.1:4200/api"
    assert settings.default_locale == "zh_CN"


def test_nested_smtp_settings(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("JIELI_SMTP__HOST", "mail.example.com")
    monkeypatch.setenv("JIELI_SMTP__PORT", "587")
    monkeypatch.setenv("JIELI_SMTP__TLS", "true")
    smtp = Settings().smtp
    assert (smtp.host, smtp.port, smtp.tls) == ("mail.example.com", 587, True)


def test_the_development_secret_is_refused_in_production(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("JIELI_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="JIELI_SECRET_KEY"):
        Settings()
    monkeypatch.setenv("JIELI_SECRET_KEY", "a-real-secret-of-our-own-at-least-32-bytes")
    assert Settings().environment == "production"


def test_the_development_secret_is_refused_when_links_leave_the_machine(
        monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("JIELI_PUBLIC_BASE_URL", "https://jieli.example.com")
    with pytest.raises(ValidationError, match="JIELI_SECRET_KEY"):
        Settings()
    monkeypatch.setenv("JIELI_PUBLIC_BASE_URL", "http://localhost:8000")
    assert Settings().public_base_url == "http://localhost:8000"
