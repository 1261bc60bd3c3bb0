"""Pages only read: a study page takes no write lock, so it answers while a flow pass writes."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event

from storage import clock, repo
from storage.db import READING, get_engine, session_scope
from storage.settings import get_settings
from tests.forms.conftest import Forms
from tests.forms.test_quiz import HIRE, assigned_culture


def test_a_study_page_get_opens_only_read_transactions(forms: Forms):
    assignment = assigned_culture(forms)
    study = f"/study/{assignment}?t={forms.token('study', HIRE, str(assignment))}"
    engine = get_engine(get_settings().storage_url)
    kinds: list[str] = []

    def began(connection: Any) -> None:
        kinds.append("read" if connection.get_execution_options().get(READING) else "write")

    event.listen(engine, "begin", began)
    try:
        page = forms.client.get(study)
    finally:
        event.remove(engine, "begin", began)
    assert page.status_code == 200 and "学习：企业文化" in page.text
    # One to admit the link, one for the page's own reads; none takes the write lock.
    assert kinds == ["read", "read"]


def test_a_study_page_answers_while_a_writer_holds_the_lock(forms: Forms):
    assignment = assigned_culture(forms)
    study = f"/study/{assignment}?t={forms.token('study', HIRE, str(assignment))}"
    with session_scope(get_settings().storage_url) as writer:
        # A flow pass in the middle of its transaction: SQLite's write lock is held.
        repo.audit(session=writer, actor="system", action="pass-writing", object_type="run",
                   object_id="1", via="flow", now=clock.now())
        writer.flush()
        started = time.monotonic()
        page = forms.client.get(study)
        took = time.monotonic() - started
    assert page.status_code == 200 and "学习：企业文化" in page.text
    assert took < 5, f"the page waited {took:.1f}s for the writer"
