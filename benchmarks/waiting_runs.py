"""How much do waiting runs cost? Starts N runs that all wait on a department, then counts.

Starts its own stack (Prefect server on SQLite, runner, SMTP server) in a temporary data
directory on free loopback ports, starts N python-developer runs (nothing delivered, so each
suspends waiting on hr and technology), and prints: time until all are suspended, processes
the runner holds for them, memory of the server and runner, and the resume latency (a
resume request until the next pass has begun) as a median over several runs.

    .venv/bin/python benchmarks/waiting_runs.py            # 50 runs
    .venv/bin/python benchmarks/waiting_runs.py --runs 200
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from deployments.stack import free_port


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants, in MB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
        todo.extend(children(p))
    return total / 1024


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--resumes", type=int, default=10)
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="jieli-bench-"))
    prefect_port = free_port()
    os.environ.update({
        "JIELI_DATA_DIR": str(data),
        "JIELI_PREFECT_API_URL": f"http://127.0.0.1:{prefect_port}/api",
        "JIELI_SMTP__PORT": str(free_port()),
        "JIELI_FORMS_PORT": str(free_port()),
    })
    # Imported after the environment is set: the settings are read once per process.
    from deployments.cli import prepare_storage
    from deployments.stack import Stack
    from storage import repo
    from storage.settings import get_settings
    from tasks.env import transaction
    from tasks.runs import prefect_client, resume_run, start_onboarding

    settings = get_settings()
    prepare_storage()
    stack = Stack(settings)
    try:
        t = time.monotonic()
        stack.start_prefect_server()
        stack.start_smtp()
        runner = stack.start_runner()
        print(f"stack up in {time.monotonic() - t:.1f}s (data in {data})")

        t0 = time.monotonic()
        ids = [start_onboarding(name=f"候选人{i}", email=f"bench{i}@example.com",
                                position="python-developer", start=date(2026, 12, 1)).run_id
               for i in range(args.runs)]
        created = time.monotonic() - t0

        def passes() -> dict[int, int]:
            with transaction() as s:
                return {i: repo.get_run(session=s, run_id=i).pass_no for i in ids}

        def suspended() -> int:
            with transaction() as s:
                flow_ids = [repo.get_run(session=s, run_id=i).flow_run_id for i in ids]
            with prefect_client() as client:
                return sum(1 for f in flow_ids
                           if f and (st := client.read_flow_run(f).state) and st.is_paused())

        while suspended() < len(ids):
            time.sleep(0.5)
        all_waiting = time.monotonic() - t0
        while children(runner.process.pid):
            time.sleep(0.2)
        settled = time.monotonic() - t0
        time.sleep(2)
        held = children(runner.process.pid)
        server_mb = rss_mb(stack.child("prefect-server").process.pid)
        runner_mb = rss_mb(runner.process.pid)

        latencies = []
        for run_id in ids[: args.resumes]:
            before = passes()[run_id]
            start = time.monotonic()
            resume_run(run_id)
            while passes()[run_id] <= before:
                time.sleep(0.05)
            latencies.append(time.monotonic() - start)
            while suspended() < len(ids):
                time.sleep(0.2)

        print(f"runs: {len(ids)} (python-developer, waiting on hr and technology)")
        per_run = created / len(ids) * 1000
        print(f"created in Prefect + storage: {created:.1f}s ({per_run:.0f} ms/run)")
        print(f"all suspended after: {all_waiting:.1f}s; all flow processes gone after "
              f"{settled:.1f}s")
        print(f"processes the runner holds for waiting runs: {len(held)}")
        print(f"memory: Prefect server {server_mb:.0f} MB, runner {runner_mb:.0f} MB")
        print(f"resume → next pass begun, median of {len(latencies)}: "
              f"{statistics.median(latencies):.2f}s (min {min(latencies):.2f}, "
              f"max {max(latencies):.2f})")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
