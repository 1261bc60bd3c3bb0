"""How fast does a hire's study page answer? 10 readers at once against the real forms app.

Starts the forms app (uvicorn, as `jieli up` does) on SQLite storage in a temporary data
directory, with real data: N python-developer runs whose culture materials were handed off,
so each hire has a study page with materials and a quiz. Then C readers (default 10) each
open study pages from their hires' links one after another for D seconds, and it prints
requests/s and the latency percentiles, beside the same load on /healthz (the app's floor).

    .venv/bin/python benchmarks/study_page.py
    .venv/bin/python benchmarks/study_page.py --readers 10 --seconds 20 --runs 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import httpx

from deployments.stack import free_port


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def hammer(urls: list[str], readers: int, seconds: float) -> tuple[list[float], int]:
    """`readers` clients each GET the urls in turn until time is up: latencies, failures."""
    latencies: list[float] = []
    failures = 0
    deadline = time.monotonic() + seconds

    async def reader(offset: int) -> None:
        nonlocal failures
        async with httpx.AsyncClient(timeout=30) as client:
            i = offset
            while time.monotonic() < deadline:
                started = time.monotonic()
                response = await client.get(urls[i % len(urls)])
                latencies.append(time.monotonic() - started)
                if response.status_code != 200:
                    failures += 1
                i += 1

    await asyncio.gather(*(reader(n) for n in range(readers)))
    return latencies, failures


def figures(name: str, latencies: list[float], failures: int, seconds: float) -> dict:
    result = {"requests": len(latencies), "failed": failures,
              "per_second": round(len(latencies) / seconds, 1),
              "p50_ms": round(1000 * statistics.median(latencies), 1),
              "p99_ms": round(1000 * percentile(latencies, 99), 1),
              "max_ms": round(1000 * max(latencies), 1)}
    print(f"{name}: {result['per_second']:.0f} requests/s, p50 {result['p50_ms']:.0f} ms, "
          f"p99 {result['p99_ms']:.0f} ms, max {result['max_ms']:.0f} ms "
          f"({result['requests']} requests, {failures} not 200)")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="jieli-study-bench-"))
    forms_port = free_port()
    os.environ.update({
        "JIELI_DATA_DIR": str(data),
        # Nothing listens there: a page read does not need Prefect.
        "JIELI_PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api",
        "JIELI_SMTP__PORT": str(free_port()),
        "JIELI_FORMS_PORT": str(forms_port),
        "JIELI_PUBLIC_BASE_URL": f"http://127.0.0.1:{forms_port}",
    })
    logging.disable(logging.WARNING)  # the deferred resumes, one warning per run
    # Imported after the environment is set: the settings are read once per process.
    from deployments.cli import prepare_storage
    from deployments.stack import Stack
    from storage import clock, repo
    from storage.settings import get_settings
    from tasks.env import get_catalog, transaction
    from tasks.handoff import open_handoff_gates
    from tasks.learning import assign_ready_modules
    from tasks.links import make_token

    settings = get_settings()
    prepare_storage()
    t = time.monotonic()
    # What HR's `jieli hire` and a pass store, without their Prefect side (resuming runs
    # that Prefect does not know would only wait for connection errors).
    runs = []
    for i in range(args.runs):
        with transaction() as session:
            hire = repo.upsert_person(session=session, name=f"候选人{i}",
                                      email=f"study{i}@example.com")
            runs.append(repo.create_run(session=session, catalog=get_catalog(), hire=hire,
                                        position_code="python-developer",
                                        start_date=date(2026, 12, 1), now=clock.now()).id)
        open_handoff_gates.fn(runs[-1])
    with transaction() as session:
        hr_owner = repo.department(session=session, code="hr").owner
        repo.record_delivery(session=session, module_code="culture", by=hr_owner,
                             now=clock.now(), via="cli", items=[repo.MaterialItem(
                                 material_code=m.code, link=f"https://wiki.example.com/{m.code}")
                                 for m in get_catalog().modules["culture"].materials])
    base = settings.public_base_url
    urls = []
    for run_id in runs:
        assign_ready_modules.fn(run_id)
        (assignment,) = _assignments(run_id)
        urls.append(f"{base}/study/{assignment[0]}?t=" + make_token(
            action="study", person_id=assignment[1], object_id=str(assignment[0]),
            valid_for=timedelta(days=1)))
    print(f"{len(runs)} runs with a study page each, stored in {time.monotonic() - t:.1f}s "
          f"(data in {data})")

    stack = Stack(settings)
    try:
        stack.start_forms()
        page = httpx.get(urls[0], timeout=30)
        if page.status_code != 200 or "/quiz/" not in page.text:
            raise RuntimeError(f"the study page is not served: {page.status_code}")
        asyncio.run(hammer(urls, args.readers, 2))  # warm up
        print(f"{args.readers} readers at once, {args.seconds:.0f}s each:")
        study = figures("study page", *asyncio.run(hammer(urls, args.readers, args.seconds)),
                        args.seconds)
        health = figures("/healthz", *asyncio.run(hammer([f"{base}/healthz"], args.readers,
                                                         args.seconds)), args.seconds)
        load = os.getloadavg()[0]
        print(f"load average (1 min) at the end: {load:.1f} on {os.cpu_count()} cores")
        print(json.dumps({"benchmark": "study_page", "readers": args.readers,
                          "seconds": args.seconds, "runs": len(runs), "study_page": study,
                          "healthz": health, "load_average": round(load, 1)}))
    finally:
        stack.stop()


def _assignments(run_id: int) -> list[tuple[int, int]]:
    """(assignment id, hire id) of the run's assignments."""
    from sqlalchemy import select

    from storage.models import Assignment, Run
    from tasks.env import reading

    with reading() as session:
        return [(a, h) for a, h in session.execute(
            select(Assignment.id, Run.hire_id).join(Run, Run.id == Assignment.run_id)
            .where(Run.id == run_id))]


if __name__ == "__main__":
    main()
