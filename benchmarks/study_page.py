"""How fast does a hire's study page answer? 10 readers at once against the real forms app.

Starts the forms app as `jieli up` does (`Stack.start_forms`: uvicorn with JIELI_FORMS_WORKERS
processes) on SQLite storage in a temporary data directory, with real data: N python-developer
runs whose culture materials were handed off, so each hire has a study page with materials and
a quiz. Then C readers (default 10) each open study pages from their hires' links one after
another for D seconds, and it prints requests/s, the latency percentiles and the forms
processes' CPU per request (and the readers' own: they share the machine), beside the same
load on /healthz (the app's floor). Each measurement is repeated R times (a fresh start of the
app each time); the medians are printed.

    .venv/bin/python benchmarks/study_page.py
    .venv/bin/python benchmarks/study_page.py --readers 10 --seconds 20 --runs 30 --repeats 3

Options beyond the counts above:

    --workers N     serve with N uvicorn processes instead of what `jieli up` would start
                    (JIELI_FORMS_WORKERS, by default one per core, at most 2).
    --baseline DIR  also serve the forms app from the checkout DIR (its code, this .venv, the
                    same data), alternately with this one, so that before and after a change are
                    measured in one run under the same load on a shared machine:
                        mkdir -p /tmp/before && git archive main | tar -x -C /tmp/before
                        .venv/bin/python benchmarks/study_page.py --baseline /tmp/before
    --baseline-workers N
                    uvicorn processes for the baseline (default 1, what `jieli up` ran before
                    it started one per core).
    --httpx         read with httpx clients, as this benchmark did until 2026-11-28 (they
                    cost ~1.5 ms of CPU per page, taken from the app's cores); by default
                    each reader is a plain HTTP/1.1 connection kept alive (~0.1 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from deployments.stack import free_port, http_ok


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def hammer(urls: list[str], readers: int, seconds: float,
                 use_httpx: bool = False) -> tuple[list[float], int]:
    """`readers` clients each GET the urls in turn until time is up: latencies, failures."""
    latencies: list[float] = []
    failures = 0
    deadline = time.monotonic() + seconds

    async def reader(offset: int) -> None:
        nonlocal failures
        get = _httpx_client() if use_httpx else _plain_client(urlsplit(urls[0]).netloc)
        async with get as fetch:
            i = offset
            while time.monotonic() < deadline:
                started = time.monotonic()
                status = await fetch(urls[i % len(urls)])
                latencies.append(time.monotonic() - started)
                if status != 200:
                    failures += 1
                i += 1

    await asyncio.gather(*(reader(n) for n in range(readers)))
    return latencies, failures


@asynccontextmanager
async def _httpx_client() -> AsyncIterator[Callable[[str], Awaitable[int]]]:
    async with httpx.AsyncClient(timeout=30) as client:
        async def fetch(url: str) -> int:
            return (await client.get(url)).status_code
        yield fetch


@asynccontextmanager
async def _plain_client(netloc: str) -> AsyncIterator[Callable[[str], Awaitable[int]]]:
    """A reader as cheap as HTTP/1.1 allows (one kept-alive connection, the body read and
    dropped): httpx took ~1.5 ms of CPU per page on a 2-core machine, from the app's cores,
    where a person's browser would be on another machine."""
    host, _, port = netloc.rpartition(":")
    connection: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def fetch(url: str) -> int:
        if not connection:
            connection.append(await asyncio.open_connection(host, int(port)))
        reader, writer = connection[0]
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        writer.write(f"GET {target} HTTP/1.1\r\nHost: {netloc}\r\n\r\n".encode())
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        fields = {k.strip().lower(): v.strip() for k, _, v in
                  (line.partition(":") for line in head[1:] if line)}
        if "content-length" in fields:
            await reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding") == "chunked":
            while size := int((await reader.readline()).split(b";")[0], 16):
                await reader.readexactly(size + 2)
            await reader.readexactly(2)
        if fields.get("connection") == "close":
            writer.close()
            connection.clear()
        return int(head[0].split(" ", 2)[1])

    try:
        yield fetch
    finally:
        for _, writer in connection:
            writer.close()


def group_cpu_seconds(leader: int) -> float:
    """CPU time (user + system) of every live process in `leader`'s process group: the forms
    app's uvicorn and, with workers, its worker processes."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == leader:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def measure(name: str, urls: list[str], leader: int, readers: int, seconds: float,
            use_httpx: bool) -> dict:
    """Hammer `urls` and return the figures, CPU of the app's processes per request included."""
    cpu, client_cpu = group_cpu_seconds(leader), time.process_time()
    latencies, failures = asyncio.run(hammer(urls, readers, seconds, use_httpx))
    cpu, client_cpu = group_cpu_seconds(leader) - cpu, time.process_time() - client_cpu
    return {"name": name, "requests": len(latencies), "failed": failures,
            "per_second": round(len(latencies) / seconds, 1),
            "p50_ms": round(1000 * statistics.median(latencies), 1),
            "p99_ms": round(1000 * percentile(latencies, 99), 1),
            "max_ms": round(1000 * max(latencies), 1),
            "cpu_ms": round(1000 * cpu / len(latencies), 2),
            # The readers share the machine with the app: what they cost is not the app's.
            "client_cpu_ms": round(1000 * client_cpu / len(latencies), 2)}


def line(result: dict) -> str:
    return (f"{result['name']}: {result['per_second']:.0f} requests/s, "
            f"p50 {result['p50_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms, "
            f"max {result['max_ms']:.0f} ms, {result['cpu_ms']:.1f} ms CPU/request "
            f"(readers {result['client_cpu_ms']:.1f} ms; {result['requests']} requests, "
            f"{result['failed']} not 200)")


def medians(results: list[dict]) -> dict:
    keys = ("per_second", "p50_ms", "p99_ms", "max_ms", "cpu_ms", "client_cpu_ms")
    summary = {k: round(statistics.median(r[k] for r in results), 2) for k in keys}
    summary.update(name=f"{results[0]['name']} (median of {len(results)})",
                   requests=sum(r["requests"] for r in results),
                   failed=sum(r["failed"] for r in results))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--baseline", type=Path, default=None)
    parser.add_argument("--baseline-workers", type=int, default=1)
    parser.add_argument("--httpx", action="store_true")
    args = parser.parse_args()
    if args.baseline and not (args.baseline / "forms" / "app.py").is_file():
        parser.error(f"{args.baseline} is not a Jieli checkout (no forms/app.py)")

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
    if args.workers is not None:
        os.environ["JIELI_FORMS_WORKERS"] = str(args.workers)
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
    paths = []
    for run_id in runs:
        assign_ready_modules.fn(run_id)
        (assignment,) = _assignments(run_id)
        paths.append(f"/study/{assignment[0]}?t=" + make_token(
            action="study", person_id=assignment[1], object_id=str(assignment[0]),
            valid_for=timedelta(days=1)))
    print(f"{len(runs)} runs with a study page each, stored in {time.monotonic() - t:.1f}s "
          f"(data in {data})")

    stack = Stack(settings)
    host = settings.forms_host

    def this_checkout() -> tuple[str, int]:
        child = stack.start_forms()
        return f"http://{host}:{settings.forms_port}", child.process.pid

    def baseline() -> tuple[str, int]:
        port = free_port()
        # uvicorn puts --app-dir first on sys.path: forms, tasks and storage come from there.
        child = stack.start(
            "forms-baseline",
            [sys.executable, "-m", "uvicorn", "--app-dir", str(args.baseline.resolve()),
             "forms.app:app", "--host", host, "--port", str(port),
             "--workers", str(args.baseline_workers)],
            ready=lambda: http_ok(f"http://{host}:{port}/healthz"),
            extra_env={"JIELI_PREFECT_CONNECT_RETRIES": "0"}, port=(host, port))
        return f"http://{host}:{port}", child.process.pid

    servers = [("this checkout", this_checkout)]
    if args.baseline:
        servers.insert(0, (f"baseline {args.baseline}", baseline))
    results: dict[str, dict[str, list[dict]]] = {n: {"study": [], "healthz": []}
                                                 for n, _ in servers}
    loads: list[float] = []
    print(f"{args.readers} readers at once, {args.seconds:.0f}s each, {args.repeats} repeats; "
          f"{os.cpu_count()} cores; this checkout serves with "
          f"{settings.forms_workers} uvicorn process(es)")
    try:
        for repeat in range(1, args.repeats + 1):
            for name, start in servers:
                loads.append(os.getloadavg()[0])
                base, leader = start()
                try:
                    urls = [base + p for p in paths]
                    page = httpx.get(urls[0], timeout=30)
                    if page.status_code != 200 or "/quiz/" not in page.text:
                        raise RuntimeError(f"{name}: the study page is not served: "
                                           f"{page.status_code}")
                    # Warm up every worker.
                    asyncio.run(hammer(urls, args.readers, 2, args.httpx))
                    print(f"[{repeat}] {name}, load average {loads[-1]:.1f}")
                    for kind, targets in (("study", urls), ("healthz", [f"{base}/healthz"])):
                        result = measure(f"{kind} page" if kind == "study" else "/healthz",
                                         targets, leader, args.readers, args.seconds,
                                         args.httpx)
                        results[name][kind].append(result)
                        print("    " + line(result))
                finally:
                    stack.stop()
    finally:
        stack.stop()
    print(f"load average (1 min) at each start: {', '.join(f'{x:.1f}' for x in loads)}; "
          f"at the end {os.getloadavg()[0]:.1f}, on {os.cpu_count()} cores")
    summary = {}
    for name, _ in servers:
        print(f"{name}:")
        summary[name] = {kind: medians(found) for kind, found in results[name].items()}
        for kind in ("study", "healthz"):
            print("    " + line(summary[name][kind]))
    print(json.dumps({"benchmark": "study_page", "readers": args.readers,
                      "seconds": args.seconds, "runs": len(runs), "repeats": args.repeats,
                      "workers": settings.forms_workers,
                      "baseline_workers": args.baseline_workers if args.baseline else None,
                      "client": "httpx" if args.httpx else "plain",
                      "load_averages": loads, "medians": summary}, ensure_ascii=False))


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
