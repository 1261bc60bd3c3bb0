"""`jieli up` starts the whole stack on loopback, prints where it is, and Ctrl-C stops it all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from deployments.processes import descendants, running
from tests.flows.conftest import free_port

pytestmark = pytest.mark.slow


def test_up_prints_the_urls_and_ctrl_c_stops_everything(tmp_path):
    prefect, forms = free_port(), free_port()
    env = dict(os.environ, JIELI_DATA_DIR=str(tmp_path),
               JIELI_PREFECT_API_URL=f"http://127.0.0.1:{prefect}/api",
               JIELI_FORMS_PORT=str(forms), JIELI_PUBLIC_BASE_URL=f"http://127.0.0.1:{forms}",
               JIELI_SMTP__PORT=str(free_port()), COLUMNS="200")
    up = subprocess.Popen([sys.executable, "-m", "deployments.cli", "up"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        assert up.stdout is not None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = up.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C" in line:
                break
        output = "".join(lines)
        assert f"http://127.0.0.1:{prefect}" in output, output
        assert f"http://127.0.0.1:{forms}" in output
        assert httpx.get(f"http://127.0.0.1:{prefect}/api/health").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{forms}/healthz").text == "ok"
        children = descendants(up.pid)
        assert len(children) >= 4  # server, runner, forms, SMTP (and their own children)
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(timeout=60)
    time.sleep(1)
    alive = [pid for pid in children if running(pid)]
    assert alive == []
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{prefect}/api/health", timeout=2)


def test_up_refuses_a_port_already_in_use(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = dict(os.environ, JIELI_DATA_DIR=str(tmp_path),
                   JIELI_PREFECT_API_URL=f"http://127.0.0.1:{port}/api", COLUMNS="200")
        result = subprocess.run([sys.executable, "-m", "deployments.cli", "up"], env=env,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"127.0.0.1:{port} is already in use" in result.stderr
