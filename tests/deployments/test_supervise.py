"""A child of the stack that dies is started again, with backoff, until Ctrl-C."""

from __future__ import annotations

import mailbox
import os
import signal
import smtplib
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from deployments.processes import descendants, running
from deployments.stack import Stack
from storage.settings import Settings
from tests.flows.conftest import free_port, wait_for

pytestmark = pytest.mark.slow


def test_a_child_that_keeps_dying_is_restarted_after_1_2_4_seconds(tmp_path: Path):
    stack = Stack(Settings(data_dir=tmp_path))
    stack.start("flaky", [sys.executable, "-c", "import time, sys; time.sleep(0.3); sys.exit(3)"],
                ready=lambda: True)
    said: list[tuple[float, str]] = []
    stopped = threading.Event()
    supervisor = threading.Thread(
        target=stack.supervise, args=(stopped, lambda line: said.append((time.monotonic(), line))))
    supervisor.start()
    try:
        deaths = lambda: [(t, line) for t, line in said if "exited" in line]  # noqa: E731
        wait_for(lambda: len(deaths()) >= 4, 30, what="four deaths")
    finally:
        stopped.set()
        supervisor.join(10)
        stack.stop()
    lines = [line for _, line in deaths()]
    assert all(line.startswith("flaky exited with code 3") for line in lines), lines
    assert [line.split(" in ")[1].split("s ")[0] for line in lines[:4]] == ["1", "2", "4", "8"]
    times = [t for t, _ in deaths()]
    # Each death comes after the announced delay plus the child's own 0.3 s of life.
    assert times[2] - times[1] >= 2.0 and times[3] - times[2] >= 4.0


def _smtp_pid(up_pid: int) -> int | None:
    return next((pid for pid, (_, cmdline) in descendants(up_pid).items()
                 if "deployments.smtp" in cmdline), None)


def test_jieli_up_restarts_a_killed_smtp_server_and_mail_arrives_again(tmp_path: Path):
    prefect, forms, smtp_port = free_port(), free_port(), free_port()
    env = dict(os.environ, JIELI_DATA_DIR=str(tmp_path),
               JIELI_PREFECT_API_URL=f"http://127.0.0.1:{prefect}/api",
               JIELI_FORMS_PORT=str(forms), JIELI_PUBLIC_BASE_URL=f"http://127.0.0.1:{forms}",
               JIELI_SMTP__PORT=str(smtp_port), COLUMNS="200")
    up = subprocess.Popen([sys.executable, "-m", "deployments.cli", "up"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []

    def read() -> None:
        assert up.stdout is not None
        for line in up.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("Ctrl-C" in line for line in lines), 180, what="jieli up ready")
        first = wait_for(lambda: _smtp_pid(up.pid), 30, what="the SMTP child")
        os.kill(first, signal.SIGKILL)

        said = wait_for(lambda: next((line for line in lines if "smtp exited" in line), None),
                        10, what="the supervisor's log line")
        assert "smtp exited with code -9" in said, said
        second = wait_for(lambda: (pid := _smtp_pid(up.pid)) != first and pid, 30,
                          what="a new SMTP child")
        wait_for(lambda: any("smtp started again" in line for line in lines), 30,
                 what="the SMTP server ready again")

        message = EmailMessage()
        message["From"], message["To"] = "jieli@localhost", "li.na@example.com"
        message["Subject"] = "after the restart"
        message.set_content("still delivered")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
            client.send_message(message)
        box = mailbox.Maildir(tmp_path / "mail", create=True)
        wait_for(lambda: any(m["Subject"] == "after the restart" for m in box), 30,
                 what="the message in the Maildir")
        assert up.poll() is None  # the rest of the stack kept running
        children = descendants(up.pid)
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(timeout=60)
    assert second in children
    wait_for(lambda: not [pid for pid in children if running(pid)], 30,
             what="every child stopped after Ctrl-C")
