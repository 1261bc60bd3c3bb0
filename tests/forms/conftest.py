"""The forms app in-process, on real SQLite storage, with Prefect out of reach.

Resuming a run then defers (the run is resumed later), which is what the forms must
tolerate anyway; the flow side is covered by tests/flows and the browser test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from storage.db import get_engine
from storage.settings import get_settings
from tests.installation import installed, settings_for


@dataclass
class Forms:
    client: TestClient

    def sql(self, query: str, **params: Any) -> list[tuple]:
        with get_engine(get_settings().storage_url).connect() as c:
            return [tuple(r) for r in c.execute(text(query), params)]

    def counts(self) -> dict[str, int]:
        tables = ["deliveries", "delivered_materials", "quiz_attempts", "appraisal_scores",
                  "used_links", "outbox", "assignments", "handoffs", "audit_log"]
        return {t: self.sql(f"select count(*) from {t}")[0][0] for t in tables}

    def refused(self, before: dict[str, int], refusals: int) -> list[str]:
        """Assert nothing but the audit log changed, by `refusals` entries; return them."""
        after = self.counts()
        assert after.pop("audit_log") == before["audit_log"] + refusals
        assert after == {k: v for k, v in before.items() if k != "audit_log"}
        return [a for (a,) in self.sql(
            "select action from audit_log order by id desc limit :n", n=refusals)]

    @staticmethod
    def moment(stored: Any) -> datetime:
        """A timestamp as `sql` returns it (SQLite: UTC text) as an aware datetime."""
        value = stored if isinstance(stored, datetime) else datetime.fromisoformat(str(stored))
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def person_id(self, email: str) -> int:
        return self.sql("select id from people where email = :e", e=email)[0][0]

    def token(self, action: str, email: str, obj: str, valid_for=timedelta(days=1)) -> str:
        from tasks.links import make_token

        return make_token(action=action, person_id=self.person_id(email), object_id=obj,
                          valid_for=valid_for)

    def start_run(self, email: str = "zhang.wei@example.com",
                  position: str = "marketing-specialist") -> int:
        from tasks.handoff import open_handoff_gates
        from tasks.runs import start_onboarding

        run_id = start_onboarding(name="张伟", email=email, position=position,
                                  start=date(2026, 12, 1), by_email="liu.fang@example.com",
                                  via="cli").run_id
        open_handoff_gates.fn(run_id)
        return run_id


@contextmanager
def ready_forms(data_dir: Path, migrated_storage: Path) -> Iterator[Forms]:
    """The forms app on a copy of the ready installation in `data_dir`, Prefect and the mail
    server out of reach."""
    from forms.app import app

    # A ready installation (migrated, catalog loaded), copied rather than migrated again.
    shutil.copyfile(migrated_storage, data_dir / "jieli.db")
    with installed(settings_for(data_dir)), TestClient(app) as client:
        yield Forms(client)


@pytest.fixture
def forms(tmp_path, migrated_storage: Path) -> Iterator[Forms]:
    with ready_forms(tmp_path, migrated_storage) as app:
        yield app


@pytest.fixture(scope="module")
def module_forms(tmp_path_factory: pytest.TempPathFactory,
                 migrated_storage: Path) -> Iterator[Forms]:
    """`forms` shared by a whole module: for tests that read one relay set up once."""
    with ready_forms(tmp_path_factory.mktemp("forms"), migrated_storage) as app:
        yield app
