"""Helpers for the security tests: sign in the way a person does, read links from the outbox,
move Jieli's clock."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email import message_from_string
from email.message import EmailMessage
from email.policy import default

import pytest
import uvicorn

from deployments.stack import free_port
from storage import clock
from tests.forms.conftest import Forms, forms  # noqa: F401  (the fixture, for this package)
from tests.installation import changed

HR = "liu.fang@example.com"
BOSS = "boss@example.com"
HIRE = "zhang.wei@example.com"


@pytest.fixture
def virtual_clock() -> Iterator[clock.VirtualClock]:
    """Jieli's clock, set by the test (links, sessions and rate limits all read it)."""
    moment = clock.VirtualClock(datetime.now(UTC).replace(microsecond=0))
    clock.use_clock(moment)
    yield moment
    clock.use_clock(clock.SystemClock())


@contextmanager
def serving() -> Iterator[str]:
    """The forms app behind a real HTTP server on a free port, its public base URL (the links
    in emails sent meanwhile lead there)."""
    from forms.app import app

    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    with changed(public_base_url=f"http://127.0.0.1:{port}"):
        thread = threading.Thread(target=uv.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not uv.started:
            assert time.monotonic() < deadline, "the forms app did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
        uv.should_exit = True
    thread.join(10)


@pytest.fixture
def server(forms: Forms) -> Iterator[str]:  # noqa: F811
    """The forms app behind a real HTTP server on a free port, its public base URL."""
    with serving() as url:
        yield url


def emailed_links(app: Forms, to: str, kind: str) -> list[str]:
    """The links (path and query) in the messages of one kind to one address, oldest first."""
    links = []
    for (raw,) in app.sql("select message from outbox where kind = :k and to_addr like :to "
                          "order by id", k=kind, to=f"%{to}%"):
        message = message_from_string(raw, policy=default)
        assert isinstance(message, EmailMessage)
        body = message.get_body(("plain",))
        assert body is not None
        links += [m.group(1) for m in re.finditer(r"https?://[^/\s]+(/\S+)", body.get_content())]
    return links


def sign_in_link(app: Forms, email: str) -> str:
    """Ask for a sign-in link on the sign-in page and return it from the outbox."""
    before = len(emailed_links(app, email, "hr-sign-in"))
    assert app.client.post("/hr/sign-in", data={"email": email}).status_code == 200
    links = emailed_links(app, email, "hr-sign-in")
    assert len(links) == before + 1
    return links[-1]


def sign_in(app: Forms, email: str) -> str:
    """Sign in as a person does (ask, open the link, press the button); the session cookie."""
    link = sign_in_link(app, email)
    assert app.client.get(link).status_code == 200
    response = app.client.post(link, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/hr"
    return app.client.cookies["jieli_hr"]
