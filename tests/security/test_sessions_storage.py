"""Sessions and sign-in limits live in Jieli's database, so that every forms-app replica
shares them: the same guarantees on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from storage import repo
from tasks.env import transaction
from tests.installation import installed, settings_for
from tests.security.conftest import HR


@pytest.fixture
def storage(database_url: str, tmp_path) -> Iterator[str]:
    from deployments.cli import prepare_storage

    with installed(settings_for(tmp_path, database_url=database_url)):
        prepare_storage()
        yield database_url


def test_sessions_and_sign_in_limits_hold_on_each_database(storage: str, virtual_clock):
    from tasks.sign_in import (
        RateLimited,
        live_session,
        open_session,
        request_sign_in,
        revoke_sessions,
    )

    for _ in range(3):
        request_sign_in(HR, client="192.0.2.1")
    with pytest.raises(RateLimited) as limited:
        request_sign_in(HR.upper(), client="192.0.2.2")  # the same address, another client
    assert 0 < limited.value.retry_after <= 15 * 60
    virtual_clock.advance(timedelta(minutes=16))
    request_sign_in(HR, client="192.0.2.1")

    with transaction() as session:
        person = repo.person_by_email(session=session, email=HR)
        assert person is not None
        hr_id = person.id
    link = repo.LinkUse(nonce="once", action="sign-in", person_id=hr_id, object_id="hr")
    session_id = open_session(link=link)
    with pytest.raises(repo.LinkAlreadyUsed):
        open_session(link=link)
    found = live_session(session_id)
    assert found is not None and found.person_id == hr_id
    assert live_session(session_id + "x") is None
    assert revoke_sessions(HR, by="test") == 1
    assert live_session(session_id) is None
    assert revoke_sessions(HR, by="test") == 0
