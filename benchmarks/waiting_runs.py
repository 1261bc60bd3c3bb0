"""How much do waiting runs cost? Starts N runs that all wait on a department, then counts.

Starts its own stack (Prefect server on SQLite, runner, forms app, SMTP server) in a temporary
data directory on free loopback ports, starts N python-developer runs one after another
(nothing delivered, so each suspends waiting on hr and technology), and prints: time until all
are suspended, the most pass processes the runner ran at once, processes it holds for waiting
runs, memory of the server and runner, the resume latency (a resume request until the next
pass has begun) as a median over several runs, and how HR pages answered (median and max)
while the runs were being created and suspended. It then checks its own output and every log
of the stack for "database is locked". The last line is the figures as JSON.

    .venv/bin/python benchmarks/waiting_runs.py            # 50 runs
    .venv/bin/python benchmarks/waiting_runs.py --runs 150 --postgres

With `--postgres` the Prefect server and Jieli's storage each get a new database on the
PostgreSQL server of `--pg-url` (dropped at the end), as docs/DEPLOY.md recommends beyond one
machine. Without it, Prefect's own SQLite serves, through deployments/prefect_server.py
(writers wait for the lock; `prefect server start` itself logs "database is locked" here).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO
from uuid import UUID

import httpx

from deployments.processes import descendants
from deployments.stack import free_port
from flows.process_title import PASS_TITLE

LOCKED = "database is locked"


class Tee(io.TextIOBase):
    """Writes to a stream and keeps a copy, so the benchmark can search its own output."""

    def __init__(self, stream: TextIO, copy: io.StringIO):
        self.stream, self.copy = stream, copy

    def write(self, text: str) -> int:
        self.copy.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


def probe_hr_pages(base_url: str, token: str, run_ids: list[int],
                   stop: threading.Event) -> tuple[list[float], list[str]]:
    """Sign in as HR with a sign-in link `token` (its button, then the session cookie), then
    open HR's run list and a run's training record in turn, one at a time, until `stop`: the
    latencies, and what failed."""
    latencies: list[float] = []
    failures: list[str] = []
    with httpx.Client(base_url=base_url, timeout=60) as client:
        signed_in = client.post("/hr/sign-in/confirm", params={"t": token})
        if signed_in.status_code != 303:
            return latencies, [f"sign-in: {signed_in.status_code}"]
        n = 0
        while not stop.is_set():
            path = "/hr" if n % 2 == 0 or not run_ids else f"/hr/runs/{run_ids[-1]}"
            started = time.monotonic()
            try:
                response = client.get(path)
                if response.status_code != 200:
                    failures.append(f"{path}: {response.status_code}")
            except httpx.HTTPError as exc:
                failures.append(f"{path}: {exc!r}")
            latencies.append(time.monotonic() - started)
            n += 1
            stop.wait(1)
    return latencies, failures


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants, in MB."""
    total = 0
    for p in [pid, *descendants(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def passes(runner_pid: int) -> list[int]:
    """The pass processes below the runner (each named after its run; the runner's fork
    server, always there, is not one)."""
    return [pid for pid, (_, command) in descendants(runner_pid).items()
            if command.startswith(PASS_TITLE)]


class PostgresDatabases:
    """New, empty databases on one PostgreSQL server, dropped again at the end."""

    def __init__(self, admin_url: str):
        from sqlalchemy import create_engine

        self.admin_url = admin_url.replace("postgresql://", "postgresql+psycopg://", 1)
        self.admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def create(self, what: str, driver: str) -> str:
        from sqlalchemy import text

        name = f"jieli_bench_{what}_{os.getpid()}"
        with self.admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            c.execute(text(f'CREATE DATABASE "{name}"'))
        self.names.append(name)
        server = self.admin_url.split("://", 1)[1].rsplit("/", 1)[0]
        return f"{driver}://{server}/{name}"

    def drop_all(self) -> None:
        from sqlalchemy import text

        with self.admin.connect() as c:
            for name in self.names:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--resumes", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=None,
                        help="stop after this long and print what was reached")
    parser.add_argument("--postgres", action="store_true",
                        help="Prefect and Jieli on new PostgreSQL databases, not SQLite")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="a PostgreSQL server where databases may be created (--postgres)")
    args = parser.parse_args()
    databases = PostgresDatabases(args.pg_url) if args.postgres else None

    output = io.StringIO()
    sys.stdout, sys.stderr = Tee(sys.stdout, output), Tee(sys.stderr, output)
    data = Path(tempfile.mkdtemp(prefix="jieli-bench-"))
    prefect_port, forms_port = free_port(), free_port()
    os.environ.update({
        "JIELI_DATA_DIR": str(data),
        "JIELI_PREFECT_API_URL": f"http://127.0.0.1:{prefect_port}/api",
        "JIELI_SMTP__PORT": str(free_port()),
        "JIELI_FORMS_PORT": str(forms_port),
        "JIELI_PUBLIC_BASE_URL": f"http://127.0.0.1:{forms_port}",
    })
    if databases is not None:
        os.environ["JIELI_DATABASE_URL"] = databases.create("jieli", "postgresql+psycopg")
        os.environ["JIELI_PREFECT_DATABASE_URL"] = databases.create("prefect",
                                                                    "postgresql+asyncpg")
    # Imported after the environment is set: the settings are read once per process.
    from deployments.cli import prepare_storage
    from deployments.stack import Stack
    from storage import repo
    from storage.settings import get_settings
    from tasks.env import get_catalog, reading
    from tasks.links import make_token
    from tasks.runs import prefect_client, resume_run, start_onboarding

    settings = get_settings()
    prepare_storage()
    stack = Stack(settings)
    try:
        t = time.monotonic()
        stack.start_all()
        runner = stack.child("runner")
        print(f"stack up in {time.monotonic() - t:.1f}s (data in {data}); the runner runs at "
              f"most {settings.runner_limit} passes at once")

        with reading() as s:
            hr = repo.person_by_email(session=s, email=get_catalog().hr().owner.email)
        if hr is None:
            raise RuntimeError("HR is not in storage")
        token = make_token(action="sign-in", person_id=hr.id, object_id="hr",
                           valid_for=timedelta(minutes=15))
        ids: list[int] = []
        stop_probing = threading.Event()
        probed: tuple[list[float], list[str]] = ([], [])

        def probe() -> None:
            nonlocal probed
            probed = probe_hr_pages(settings.public_base_url, token, ids, stop_probing)

        prober = threading.Thread(target=probe, daemon=True)
        most_at_once = 0
        stop_counting = threading.Event()

        def count_passes() -> None:
            nonlocal most_at_once
            while not stop_counting.wait(0.2):
                most_at_once = max(most_at_once, len(passes(runner.process.pid)))

        counter = threading.Thread(target=count_passes, daemon=True)
        prober.start()
        counter.start()

        t0 = time.monotonic()
        deadline = t0 + 60 * args.minutes if args.minutes else float("inf")
        for i in range(args.runs):
            if time.monotonic() > deadline:
                break
            ids.append(start_onboarding(name=f"候选人{i}", email=f"bench{i}@example.com",
                                        position="python-developer",
                                        start=date(2026, 12, 1),
                                        by_email="liu.fang@example.com",
                                        via="cli").run_id)
        created = time.monotonic() - t0

        def pass_numbers() -> dict[int, int]:
            with reading() as s:
                return {i: repo.get_run(session=s, run_id=i).pass_no for i in ids}

        def suspended() -> int:
            with reading() as s:
                flow_ids = [repo.get_run(session=s, run_id=i).flow_run_id for i in ids]
            with prefect_client() as client:
                return sum(1 for f in flow_ids if f is not None and
                           (st := client.read_flow_run(UUID(f)).state) is not None
                           and st.is_paused())

        last_report = time.monotonic()
        while (waiting := suspended()) < len(ids) and time.monotonic() < deadline:
            if time.monotonic() - last_report > 60:
                print(f"  {time.monotonic() - t0:.0f}s: {waiting} of {len(ids)} runs suspended",
                      flush=True)
                last_report = time.monotonic()
            time.sleep(2)
        complete = waiting == len(ids) == args.runs
        all_waiting = time.monotonic() - t0
        stop_probing.set()
        prober.join(120)
        while complete and passes(runner.process.pid):
            time.sleep(0.2)
        settled = time.monotonic() - t0
        stop_counting.set()
        counter.join(5)
        time.sleep(2)
        held = passes(runner.process.pid)
        server_mb = rss_mb(stack.child("prefect-server").process.pid)
        runner_mb = rss_mb(runner.process.pid)

        latencies: list[float] = []
        if not complete:
            print(f"STOPPED after {args.minutes} min: {len(ids)} of {args.runs} runs created, "
                  f"{waiting} suspended; the figures below are partial")
        for run_id in ids[: args.resumes if complete else 0]:
            before = pass_numbers()[run_id]
            start = time.monotonic()
            resume_run(run_id)
            while pass_numbers()[run_id] <= before:
                time.sleep(0.05)
            latencies.append(time.monotonic() - start)
            while suspended() < len(ids):
                time.sleep(0.2)

        hr_latencies, hr_failures = probed
        print(f"runs: {len(ids)} (python-developer, waiting on hr and technology)")
        per_run = created / len(ids) * 1000
        print(f"created in Prefect + storage: {created:.1f}s ({per_run:.0f} ms/run)")
        print(f"all suspended after: {all_waiting:.1f}s; all flow processes gone after "
              f"{settled:.1f}s")
        print(f"most pass processes at once: {most_at_once} (limit {settings.runner_limit})")
        print(f"processes the runner holds for waiting runs: {len(held)}")
        print(f"memory: Prefect server {server_mb:.0f} MB, runner {runner_mb:.0f} MB")
        if latencies:
            print(f"resume → next pass begun, median of {len(latencies)}: "
                  f"{statistics.median(latencies):.2f}s (min {min(latencies):.2f}, "
                  f"max {max(latencies):.2f})")
        if hr_latencies:
            print(f"HR pages while the runs were created and suspended: "
                  f"{len(hr_latencies)} opened, median {statistics.median(hr_latencies):.2f}s, "
                  f"max {max(hr_latencies):.2f}s, {len(hr_failures)} failed "
                  f"{hr_failures[:3] if hr_failures else ''}")
    finally:
        stack.stop()
        if databases is not None:
            databases.drop_all()
    load = os.getloadavg()[0]
    logs = sorted((data / "logs").glob("*.log"))
    locked = [f"{log.name}: {line.strip()[:200]}" for log in logs
              for line in log.read_text(errors="replace").splitlines() if LOCKED in line]
    locked += [f"output: {line.strip()[:200]}" for line in output.getvalue().splitlines()
               if LOCKED in line]
    if locked:
        where = sorted({line.split(":", 1)[0] for line in locked})
        print(f'"{LOCKED}" appeared {len(locked)} time(s), in {", ".join(where)}:',
              *locked[:6], sep="\n  ")
        if where == ["prefect-server.log"]:
            print("  (Prefect's own SQLite database, not Jieli's storage: the server answered "
                  "503 and the client retried)")
    else:
        print(f'"{LOCKED}": nowhere in this output nor in the {len(logs)} logs of the stack '
              f"({', '.join(log.name for log in logs)})")
    print(f"load average (1 min) at the end: {load:.1f} on {os.cpu_count()} cores")
    print(json.dumps({
        "benchmark": "waiting_runs", "runs": len(ids), "postgres": databases is not None,
        "created_s": round(created, 1),
        "all_suspended_s": round(all_waiting, 1), "processes_gone_s": round(settled, 1),
        "runner_limit": settings.runner_limit, "most_passes_at_once": most_at_once,
        "held_processes": len(held), "server_mb": round(server_mb), "runner_mb": round(runner_mb),
        "complete": complete, "suspended": waiting,
        "resume_median_s": round(statistics.median(latencies), 2) if latencies else None,
        "hr_pages": len(hr_latencies),
        "hr_median_s": round(statistics.median(hr_latencies), 3) if hr_latencies else None,
        "hr_max_s": round(max(hr_latencies), 3) if hr_latencies else None,
        "hr_failed": len(hr_failures), "database_locked": len(locked),
        "load_average": round(load, 1)}))


if __name__ == "__main__":
    main()
