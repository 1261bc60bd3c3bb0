"""A real stack for flow tests: Prefect server, runner, SMTP server on loopback, SQLite storage."""

from __future__ import annotations

import email
import json
import mailbox
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from deployments.processes import descendants
from deployments.stack import Stack, free_port, stack_env
from flows.process_title import PASS_TITLE
from storage.settings import Settings, SmtpSettings
from tasks.failpoints import ARMED_FILE

HR = "liu.fang@example.com"  # the catalog's HR owner: `jieli hire` acts as them
# How long a test waits for what must happen "at once" (an act moving its run): far below the
# hourly sweep that would otherwise move it, far above the few seconds it takes on a 2-core
# machine running other tests' stacks beside it. Latency itself is measured in benchmarks/.
PROMPTLY = 90


def wait_for(predicate: Callable[[], Any], timeout: float = 30, every: float = 0.2,
             what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


@dataclass
class Live:
    """The running stack and what a test reads from it: Prefect, the mailbox, storage."""

    stack: Stack
    settings: Settings
    _hr: httpx.Client | None = field(default=None, init=False, repr=False)

    @property
    def api(self) -> str:
        return self.settings.prefect_api_url

    def stop_runner(self, sig: int = signal.SIGTERM) -> None:
        """Stop the runner (a SIGKILL is a crash) and forget it."""
        runner = self.stack.child("runner")
        runner.stop(sig)
        self.stack.children.remove(runner)

    @contextmanager
    def failpoints(self, points: str) -> Iterator[None]:
        """Passes stop at `points` (tasks/failpoints.py) while the block runs, under the running
        runner; after it, none does and no pass waits at a marker."""
        data, armed = self.settings.data_dir, self.settings.data_dir / ARMED_FILE
        markers = [data / f"failpoint-{point.split(':')[0]}" for point in points.split(",")]
        for marker in markers:
            marker.unlink(missing_ok=True)
        armed.write_text(points, encoding="utf-8")
        try:
            yield
        finally:
            armed.unlink(missing_ok=True)
            for marker in markers:
                marker.unlink(missing_ok=True)

    def jieli(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess:
        # As HR (unless `--as` says otherwise), on a terminal wide enough that cells rarely wrap.
        env = {"JIELI_ACTING_AS": HR, "COLUMNS": "200", **env}
        result = subprocess.run(
            [sys.executable, "-m", "deployments.cli", *args],
            env=stack_env(self.settings, **env), capture_output=True,
            text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"jieli {' '.join(args)} failed:\n{result.stdout}\n"
                                 f"{result.stderr}")
        return result

    def hire(self, name: str, email_addr: str, position: str = "marketing-specialist",
             via: str = "web") -> int:
        """Start a hire's run as HR: on the start form (`web`, what most tests need: about a
        tenth of the CPU of a `jieli` process, which imports Prefect), or with `jieli hire`."""
        if via == "cli":
            out = self.jieli("--as", HR, "hire", "--name", name, "--email", email_addr,
                             "--position", position, "--start", "2026-12-01").stdout
            return int(out.split("#", 1)[1].split()[0])
        client = self.hr_session()
        form = client.get("/hr/hires/new")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert form.status_code == 200 and csrf, form.text[:2000]
        answer = client.post("/hr/hires", data={
            "csrf": csrf.group(1), "name": name, "email": email_addr, "position": position,
            "start": "2026-12-01", "language": "zh_CN"})
        started = re.fullmatch(r"/hr/runs/(\d+)\?started=1", answer.headers.get("location", ""))
        assert answer.status_code == 303 and started, f"{answer.status_code}: {answer.text[:2000]}"
        return int(started.group(1))

    def sign_in_links(self) -> list[str]:
        """The sign-in links in HR's mailbox."""
        found = [re.search(r"(http://\S+/hr/sign-in/confirm\?t=\S+)",
                           m.get_body(("plain",)).get_content()) for m in self.mail(HR)]
        return [f.group(1) for f in found if f]

    def hr_session(self) -> httpx.Client:
        """A client signed in as HR, as HR signs in (asks for a link, opens it from the
        mailbox, presses the button): once per stack, as sign-ins are rate-limited."""
        if self._hr is None:
            base = self.settings.public_base_url
            client = httpx.Client(base_url=base, headers={"Origin": base}, timeout=60)
            already = set(self.sign_in_links())
            assert client.post("/hr/sign-in", data={"email": HR}).status_code == 200
            (link,) = wait_for(lambda: set(self.sign_in_links()) - already, 60,
                               what="HR's sign-in email")
            signed_in = client.post(link)
            assert signed_in.status_code == 303, signed_in.text[:2000]
            self._hr = client
        return self._hr

    def sql(self, query: str, **params: Any) -> list[tuple]:
        engine = create_engine(self.settings.storage_url)
        try:
            with engine.connect() as c:
                return [tuple(r) for r in c.execute(text(query), params)]
        finally:
            engine.dispose()

    def flow_run(self, run_id: int) -> dict:
        (flow_run_id,), = self.sql("select flow_run_id from runs where id = :i", i=run_id)
        return httpx.get(f"{self.api}/flow_runs/{flow_run_id}", timeout=10).json()

    def wait_state(self, run_id: int, state: str, timeout: float = 60,
                   min_pass: int = 0) -> dict:
        def reached() -> dict | None:
            fr = self.flow_run(run_id)
            (pass_no,), = self.sql("select pass_no from runs where id = :i", i=run_id)
            return fr if fr["state"]["name"] == state and pass_no >= min_pass else None
        return wait_for(reached, timeout, what=f"run {run_id} {state} after pass {min_pass}")

    def mail(self, to: str | None = None) -> list[EmailMessage]:
        box = mailbox.Maildir(self.settings.data_dir / "mail", create=True)
        found = []
        for key in box.iterkeys():
            msg = email.message_from_bytes(box.get_bytes(key), policy=default)
            if to is None or to in str(msg["To"]):
                found.append(msg)
        return found

    def artifacts(self, flow_run_id: str) -> list[dict]:
        r = httpx.post(f"{self.api}/artifacts/filter", timeout=10,
                       json={"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}})
        return r.json()

    def counts(self) -> dict[str, int]:
        tables = ["handoffs", "gates", "assignments", "outbox", "deliveries", "audit_log"]
        return {t: self.sql(f"select count(*) from {t}")[0][0] for t in tables}

    def outbox_keys(self) -> list[str]:
        return [k for (k,) in self.sql("select key from outbox order by id")]

    def runner_passes(self) -> list[str]:
        """The flow run ids of the passes the runner's processes execute now (each pass is
        named after its flow run, flows/process_title.py)."""
        return [title.split(" flow run ")[-1].strip() for title, _ in self._passes()]

    def pass_parents(self) -> list[str]:
        """The command line of each running pass's parent process."""
        return [parent for _, parent in self._passes()]

    def _passes(self) -> list[tuple[str, str]]:
        """(title, parent's command line) of each pass among the runner's descendants."""
        below = descendants(self.stack.child("runner").process.pid)
        return [(title, below.get(parent, (0, ""))[1]) for parent, title in below.values()
                if title.startswith(PASS_TITLE)]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, migrated_storage: Path) -> Iterator[Live]:
    data = tmp_path_factory.mktemp("jieli")
    prefect_port, forms_port = free_port(), free_port()
    settings = Settings(
        data_dir=data, prefect_api_url=f"http://127.0.0.1:{prefect_port}/api",
        public_base_url=f"http://127.0.0.1:{forms_port}", forms_port=forms_port,
        # One forms process: a test's few requests need no second (the default's two are for
        # many readers at once, benchmarks/study_page.py), and each costs seconds to start.
        smtp=SmtpSettings(port=free_port()), forms_workers=1)
    stack = Stack(settings)
    # A ready installation (`jieli db upgrade` once per session), copied.
    shutil.copyfile(migrated_storage, data / "jieli.db")
    try:
        stack.start_all()
        live = Live(stack, settings)
        yield live
        if live._hr is not None:
            live._hr.close()
    finally:
        stack.stop()
        logs = data / "logs"
        if logs.exists():
            for log in logs.glob("*.log"):
                (Path("test-artifacts") / "logs").mkdir(parents=True, exist_ok=True)
                # Each pytest-xdist worker numbers its data directories from 0.
                worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
                (Path("test-artifacts") / "logs" / f"{worker}-{data.name}-{log.name}") \
                    .write_bytes(log.read_bytes())


def requests_a_week_old(live: Live) -> None:
    """Date the hand-off requests sent so far a week back, so that a new hire's owners are
    asked again instead of the request being folded into a recent one (tasks/handoff.py)."""
    engine = create_engine(live.settings.storage_url)
    try:
        with engine.begin() as c:
            c.execute(text("update outbox set created_at = :t where kind = 'handoff-request'"),
                      {"t": "2026-01-01 00:00:00.000000"})
    finally:
        engine.dispose()


def blocking_markdown(live: Live, flow_run_id: str) -> str:
    arts = [a for a in live.artifacts(flow_run_id) if (a.get("key") or "").endswith("-blocking")]
    assert arts, json.dumps(live.artifacts(flow_run_id))[:500]
    return max(arts, key=lambda a: a["created"])["data"]
