"""Sign-in resists abuse: limits per address and per client kept in Jieli's database, and an
answer that takes as long for a stranger as for HR (the email is sent after it)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.forms.conftest import Forms
from tests.security.conftest import BOSS, HR

STRANGER = "nobody@example.com"


def emails_to(forms: Forms, address: str) -> int:
    return forms.sql("select count(*) from outbox where kind = 'hr-sign-in' and to_addr like :a",
                     a=f"%{address}%")[0][0]


def test_sign_in_is_limited_per_address(forms: Forms, virtual_clock):
    for _ in range(3):
        assert forms.client.post("/hr/sign-in", data={"email": HR}).status_code == 200
    refused = forms.client.post("/hr/sign-in", data={"email": HR})
    assert refused.status_code == 429 and "登录申请太频繁" in refused.text
    assert 0 < int(refused.headers["retry-after"]) <= 15 * 60
    assert emails_to(forms, HR) == 3
    # Another address from the same client is still served; the address waits its window.
    assert forms.client.post("/hr/sign-in", data={"email": BOSS}).status_code == 200
    virtual_clock.advance(timedelta(minutes=15, seconds=1))
    assert forms.client.post("/hr/sign-in", data={"email": HR}).status_code == 200
    assert emails_to(forms, HR) == 4


def test_sign_in_is_limited_per_client_across_replicas(forms: Forms):
    from forms.app import app

    # Two replicas of the forms app share nothing but the database.
    replicas = [forms.client, TestClient(app)]
    for i in range(10):
        response = replicas[i % 2].post("/hr/sign-in", data={"email": f"someone{i}@example.com"})
        assert response.status_code == 200
    assert replicas[1].post("/hr/sign-in", data={"email": BOSS}).status_code == 429
    assert replicas[0].post("/hr/sign-in", data={"email": BOSS}).status_code == 429
    assert emails_to(forms, BOSS) == 0
    elsewhere = TestClient(app, client=("198.51.100.7", 50000))
    assert elsewhere.post("/hr/sign-in", data={"email": BOSS}).status_code == 200
    assert emails_to(forms, BOSS) == 1


@pytest.fixture
def mailbox(forms: Forms, tmp_path) -> Iterator[Path]:
    """A real SMTP server (aiosmtpd, as `jieli up` runs) keeping messages in a Maildir."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Mailbox

    from storage.settings import get_settings

    folder = tmp_path / "mail"
    controller = Controller(Mailbox(folder), hostname="127.0.0.1",
                            port=get_settings().smtp.port)
    controller.start()
    yield folder / "new"
    controller.stop()


def test_staff_and_strangers_are_answered_in_the_same_time(forms: Forms, mailbox: Path,
                                                           server: str, virtual_clock):
    timings: dict[str, list[float]] = {HR: [], STRANGER: []}
    with httpx.Client(base_url=server) as client:
        for i in range(24):
            address = (HR, STRANGER)[i % 2]
            virtual_clock.advance(timedelta(minutes=16))  # a fresh rate-limit window
            started = time.perf_counter()
            response = client.post("/hr/sign-in", data={"email": address})
            elapsed = time.perf_counter() - started
            assert response.status_code == 200
            if i >= 4:  # the first requests warm up both paths
                timings[address].append(elapsed)
    staff, stranger = (statistics.median(timings[a]) for a in (HR, STRANGER))
    print(f"median answer: staff {staff * 1000:.1f} ms, stranger {stranger * 1000:.1f} ms")
    assert max(staff, stranger) / min(staff, stranger) < 2
    assert emails_to(forms, HR) == 12 and emails_to(forms, STRANGER) == 0
    # Sent after the answers, every one of them.
    deadline = time.monotonic() + 30
    while len(list(mailbox.glob("*"))) < 12:
        assert time.monotonic() < deadline, "the sign-in emails did not arrive"
        time.sleep(0.1)
