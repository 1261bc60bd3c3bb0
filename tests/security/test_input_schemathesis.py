"""Schemathesis over the forms app's OpenAPI, in-process (ASGI): no input gives a 5xx.

Each generated request is sent as generated (a made-up link) and once more with a genuine
link for the generated object, so that the checks past the link (objects, permissions, forms)
see the generated values too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.forms.conftest import Forms
from tests.installation import installed, settings_for

# Link action of each path's first segment, and who the genuine link is for.
ACTIONS = {"handoff": ("handoff", "li.na@example.com"), "study": ("study", "zhang.wei@example.com"),
           "quiz": ("quiz", "zhang.wei@example.com"),
           "appraise": ("appraise", "zhou.qiang@example.com")}


@pytest.fixture(scope="module")
def forms_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Forms]:
    """The forms app on its own SQLite storage, with a run, a delivery and an assignment."""
    with installed(settings_for(tmp_path_factory.mktemp("schemathesis"))):
        from deployments.cli import prepare_storage
        from forms.app import app
        from tasks.handoff import deliver_materials
        from tasks.learning import assign_ready_modules

        prepare_storage()
        with TestClient(app) as client:
            forms = Forms(client)
            run_id = forms.start_run()
            deliver_materials(module_code="culture", by_email="liu.fang@example.com", via="cli")
            assign_ready_modules.fn(run_id)
            yield forms


def test_no_generated_request_gives_a_server_error(forms_app: Forms):
    from forms.app import app

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12

    @settings(max_examples=150, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=st.sampled_from(operations).flatmap(lambda op: op.as_strategy()))
    def no_server_error(case: schemathesis.Case) -> None:
        response = case.call()
        assert response.status_code < 500, (case.method, case.formatted_path, response.text)
        action = ACTIONS.get(case.operation.path.split("/")[1])
        if action is None or not case.path_parameters:
            return
        object_id = str(next(iter(case.path_parameters.values())))
        case.query = {**(case.query or {}), "t": forms_app.token(
            action[0], action[1], object_id, valid_for=timedelta(hours=1))}
        response = case.call()
        assert response.status_code < 500, (case.method, case.formatted_path, response.text)

    no_server_error()
