"""The Prefect API (its UI has a Cancel button and no login) asks for a password when set,
and is never started beyond loopback without one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from deployments.stack import Stack, free_port, stack_env
from storage.settings import Settings
from tests.flows.conftest import wait_for

pytestmark = pytest.mark.slow


def test_the_prefect_server_refuses_an_unauthenticated_call_when_the_auth_string_is_set(
        tmp_path: Path):
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    settings = Settings(data_dir=tmp_path, prefect_api_url=api,
                        prefect_auth_string=SecretStr("jieli:correct-horse"))
    stack = Stack(settings)
    subprocess.run([sys.executable, "-m", "deployments.cli", "db", "upgrade"],
                   env=stack_env(settings), check=True, capture_output=True)
    try:
        stack.start_prefect_server()
        stack.start_runner()  # ready only once it polls: it sends the password it was given

        assert httpx.post(f"{api}/flow_runs/filter", json={}).status_code == 401
        assert httpx.post(f"{api}/flow_runs/filter", json={},
                          auth=("jieli", "wrong")).status_code == 401
        assert httpx.post(f"{api}/flow_runs/filter", json={},
                          auth=("jieli", "correct-horse")).status_code == 200

        # HR's CLI with Jieli's setting only (no PREFECT_* variable) starts a run, and the
        # runner's flow process takes its pass and suspends through the protected API.
        env = {k: v for k, v in stack_env(settings, COLUMNS="200").items()
               if not k.startswith("PREFECT_API_AUTH")}
        assert env["JIELI_PREFECT_AUTH_STRING"] == "jieli:correct-horse"
        hired = subprocess.run(
            [sys.executable, "-m", "deployments.cli", "--as", "liu.fang@example.com", "hire",
             "--name", "郑安", "--email",
             "zheng.an@example.com", "--position", "marketing-specialist", "--start",
             "2026-12-01"], env=env, capture_output=True, text=True, timeout=180)
        assert hired.returncode == 0 and "启动" in hired.stdout, hired.stdout + hired.stderr
        flow_run_id = hired.stdout.rsplit("/", 1)[1].strip()

        def state() -> str:
            return httpx.get(f"{api}/flow_runs/{flow_run_id}", timeout=10,
                             auth=("jieli", "correct-horse")).json()["state"]["name"]
        wait_for(lambda: state() == "Suspended", 180, what="the run suspended")
    finally:
        stack.stop()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10"])
def test_jieli_up_refuses_a_prefect_server_beyond_loopback_without_a_password(
        tmp_path: Path, host: str):
    env = dict(os.environ, JIELI_DATA_DIR=str(tmp_path), COLUMNS="200",
               JIELI_PREFECT_API_URL=f"http://{host}:{free_port()}/api")
    env.pop("JIELI_PREFECT_AUTH_STRING", None)
    result = subprocess.run([sys.executable, "-m", "deployments.cli", "up"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "beyond loopback" in result.stderr and "JIELI_PREFECT_AUTH_STRING" in result.stderr
    assert not (tmp_path / "logs" / "prefect-server.log").exists()  # nothing was started
