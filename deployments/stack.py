"""The embedded stack on loopback: Prefect server, runner, forms app and SMTP server.

Each part is a child process started with the environment `stack_env` builds from Jieli's
settings, so the CLI, the tests and the benchmarks start exactly the same thing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlparse

import httpx

from storage.settings import LOOPBACK, Settings

log = logging.getLogger("jieli.stack")

# A child that died is started again after 1 s, 2 s, 4 s … at most this long; one that stayed
# up for RESTART_RESET_AFTER seconds starts again from 1 s.
RESTART_MAX_DELAY = 60.0
RESTART_RESET_AFTER = 60.0
# The order in which `Stack.stop` stops the parts: each before what it calls.
STOP_ORDER = ("runner", "forms", "smtp", "prefect-server")


def stack_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of every child: Jieli's settings, and Prefect's derived from them."""
    data = settings.data_dir.resolve()
    env = dict(os.environ)
    env.update({
        "JIELI_DATA_DIR": str(data),
        "JIELI_PREFECT_API_URL": settings.prefect_api_url,
        "JIELI_PUBLIC_BASE_URL": settings.public_base_url,
        "JIELI_SMTP__HOST": settings.smtp.host,
        "JIELI_SMTP__PORT": str(settings.smtp.port),
        "JIELI_QUICK_CHORES_SECONDS": str(settings.quick_chores_seconds),
        "JIELI_TIMED_CHORES_SECONDS": str(settings.timed_chores_seconds),
        "JIELI_SWEEP_EVERY_SECONDS": str(settings.sweep_every_seconds),
        "PREFECT_HOME": str(data / "prefect"),
        "PREFECT_API_URL": settings.prefect_api_url,
        # Results of passes must be readable by whichever process resumes the run.
        "PREFECT_LOCAL_STORAGE_PATH": str(data / "prefect" / "results"),
        # A resumed run starts within about a second instead of ten.
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "0.5",
        # The hourly sweep is the only scheduled deployment: keep one future run of it in the
        # boss's run list, not a hundred (it removes its own past runs).
        "PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS": "1",
        "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS": "1",
    })
    if settings.database_url:
        env["JIELI_DATABASE_URL"] = settings.database_url
    if settings.prefect_database_url is not None:
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = \
            settings.prefect_database_url.get_secret_value()
    if settings.prefect_auth_string is not None:
        # The server checks it and every client (runner, flow runs, forms, CLI) sends it.
        auth = settings.prefect_auth_string.get_secret_value()
        env["JIELI_PREFECT_AUTH_STRING"] = auth
        env["PREFECT_SERVER_API_AUTH_STRING"] = auth
        env["PREFECT_API_AUTH_STRING"] = auth
    env.update(extra)
    return env


# Prefect's files in PREFECT_HOME that a fresh server writes before it answers: its database
# (after Prefect's own ~150 migrations) and the memo of the block types it registered.
PREFECT_SEED_FILES = ("prefect.db", "memo_store.toml")


def prefect_seed_dir() -> Path:
    """Where a new Prefect home is seeded from, one per Prefect version.

    A Prefect server on an empty database spends 10-15 s of a 2-core machine migrating it and
    registering block types; from a copy of a freshly started one it is ready in about 5 s.
    That is every `jieli demo`, `jieli simulate` and test stack. Prefect has no such cache of
    its own, hence this one.
    """
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "jieli" / f"prefect-{version('prefect')}"


def _seed_prefect_home(home: Path) -> bool:
    """Copy the seed into a Prefect home that has no database yet; whether it did."""
    seed = prefect_seed_dir()
    if (home / "prefect.db").exists() or not all((seed / f).exists() for f in PREFECT_SEED_FILES):
        return False
    home.mkdir(parents=True, exist_ok=True)
    for name in PREFECT_SEED_FILES:
        shutil.copyfile(seed / name, home / name)
    return True


def _keep_prefect_seed(home: Path) -> None:
    """Keep a consistent copy of a freshly started server's files as the seed (once)."""
    seed = prefect_seed_dir()
    if all((seed / f).exists() for f in PREFECT_SEED_FILES):
        return
    seed.mkdir(parents=True, exist_ok=True)
    partial = seed / f"prefect.db.{os.getpid()}"
    # SQLite's backup API: a consistent snapshot although the server writes (WAL mode).
    with contextlib.closing(sqlite3.connect(home / "prefect.db")) as source, \
            contextlib.closing(sqlite3.connect(partial)) as target:
        source.backup(target)
    shutil.copyfile(home / "memo_store.toml", seed / f"memo_store.toml.{os.getpid()}")
    os.replace(seed / f"memo_store.toml.{os.getpid()}", seed / "memo_store.toml")
    os.replace(partial, seed / "prefect.db")  # last: the seed is complete once it exists


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    started_at: float = field(default_factory=time.monotonic)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        """Stop the child and everything it started (it leads its own process group)."""
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=timeout)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=timeout)

    def reap(self) -> None:
        """Kill what the dead child left in its group (a server's workers may hold its port)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


@dataclass
class Starting:
    """A child whose process runs but may not serve yet."""

    child: Child
    ready: Callable[[], bool]
    deadline: float
    timeout: float
    then: Callable[[], None] | None = None  # what to do once it is ready


@dataclass
class Stack:
    settings: Settings
    children: list[Child] = field(default_factory=list)
    # How to start each child again, the same way: its start method with its arguments.
    restarts: dict[str, Callable[[], Child]] = field(default_factory=dict)

    def start(self, name: str, argv: list[str], ready: Callable[[], bool],
              timeout: float = 90, extra_env: dict[str, str] | None = None,
              port: tuple[str, int] | None = None,
              again: Callable[[], Child] | None = None) -> Child:
        """Start a child and wait until `ready()` says it serves."""
        return self._await(self._spawn(name, argv, ready, timeout, extra_env, port, again))

    def start_all(self) -> None:
        """Start every part as `jieli up` does. The Prefect server, the SMTP server and the
        forms app need nothing of each other to start, so they start at once (the forms app
        defers what it cannot hand to Prefect yet); the runner comes last, as it registers
        its deployments with Prefect. On a 2-core machine this saves the forms app's two
        seconds or so of every start."""
        for starting in [self._spawn_prefect_server(), self._spawn_smtp(), self._spawn_forms()]:
            self._await(starting)
        self.start_runner()

    def _spawn(self, name: str, argv: list[str], ready: Callable[[], bool],
               timeout: float = 90, extra_env: dict[str, str] | None = None,
               port: tuple[str, int] | None = None,
               again: Callable[[], Child] | None = None,
               then: Callable[[], None] | None = None) -> Starting:
        """Start a child's process without waiting for it (`_await` waits)."""
        self.restarts[name] = again or (
            lambda: self.start(name, argv, ready, timeout, extra_env, port))
        if port and _port_open(*port):
            # Otherwise the readiness probe would take someone else's server for ours.
            raise RuntimeError(f"{name}: {port[0]}:{port[1]} is already in use "
                               "(another `jieli up`?); stop it or choose another port")
        logs = self.settings.data_dir.resolve() / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = logs / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(argv, env=stack_env(self.settings, **(extra_env or {})),
                                       stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        child = Child(name, process, log)
        self.children.append(child)
        return Starting(child, ready, time.monotonic() + timeout, timeout, then)

    def _await(self, starting: Starting) -> Child:
        """Wait until a spawned child is ready; a child that exits or times out is dropped."""
        child, process = starting.child, starting.child.process
        while not starting.ready():
            if process.poll() is not None:
                self._drop(child)
                tail = child.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{child.name} exited with {process.returncode}:\n{tail}")
            if time.monotonic() > starting.deadline:
                child.stop()
                self._drop(child)
                raise TimeoutError(f"{child.name} not ready after {starting.timeout:.0f}s; "
                                   f"see {child.log}")
            time.sleep(0.2)
        if starting.then is not None:
            starting.then()
        return child

    def _drop(self, child: Child) -> None:
        """Forget a child that failed to start, and kill what it left behind."""
        child.reap()
        self.children.remove(child)

    def start_prefect_server(self) -> Child:
        return self._await(self._spawn_prefect_server())

    def _spawn_prefect_server(self) -> Starting:
        url = urlparse(self.settings.prefect_api_url)
        if (url.hostname or "127.0.0.1") not in LOOPBACK and self.settings.prefect_auth_string \
                is None:
            # The Prefect API has no login of its own: anyone who reaches it can cancel,
            # delete or rewrite runs.
            raise RuntimeError(
                f"the Prefect server would listen on {url.hostname}, beyond loopback, without "
                "a password; set JIELI_PREFECT_AUTH_STRING=user:password (Prefect's basic "
                "auth; see docs/DEPLOY.md) or keep JIELI_PREFECT_API_URL on 127.0.0.1")
        home = self.settings.data_dir.resolve() / "prefect"
        # Only Prefect's own SQLite database (not one configured elsewhere) is seeded.
        own_db = (self.settings.prefect_database_url is None
                  and "PREFECT_SERVER_DATABASE_CONNECTION_URL" not in os.environ
                  and "PREFECT_API_DATABASE_CONNECTION_URL" not in os.environ)
        fresh = own_db and not (home / "prefect.db").exists()
        seeded = fresh and _seed_prefect_home(home)

        def keep_seed() -> None:
            if fresh and not seeded:
                try:
                    _keep_prefect_seed(home)
                except (OSError, sqlite3.Error) as exc:  # a cache: Jieli works without it
                    log.warning("could not keep a seed of Prefect's database: %s", exc)

        return self._spawn(
            "prefect-server",
            [sys.executable, "-m", "deployments.prefect_server", "--host",
             url.hostname or "127.0.0.1", "--port", str(url.port or 4200)],
            ready=lambda: http_ok(f"{self.settings.prefect_api_url}/health"),
            timeout=120, port=(url.hostname or "127.0.0.1", url.port or 4200),
            again=self.start_prefect_server, then=keep_seed)

    def start_runner(self, **extra_env: str) -> Child:
        since = time.time()
        return self.start(
            "runner", [sys.executable, "-m", "deployments.serve"],
            ready=lambda: _runner_polling(self.settings, since),
            extra_env=extra_env,
            # Again through this method: the new runner must poll after its own start.
            again=lambda: self.start_runner(**extra_env))

    def start_smtp(self) -> Child:
        return self._await(self._spawn_smtp())

    def _spawn_smtp(self) -> Starting:
        return self._spawn(
            "smtp", [sys.executable, "-m", "deployments.smtp"],
            ready=lambda: _port_open(self.settings.smtp.host, self.settings.smtp.port),
            port=(self.settings.smtp.host, self.settings.smtp.port), again=self.start_smtp)

    def start_forms(self) -> Child:
        return self._await(self._spawn_forms())

    def _spawn_forms(self) -> Starting:
        s = self.settings
        return self._spawn(
            "forms",
            [sys.executable, "-m", "uvicorn", "forms.app:app", "--host", s.forms_host,
             "--port", str(s.forms_port), "--workers", str(s.forms_workers)],
            ready=lambda: http_ok(f"http://{s.forms_host}:{s.forms_port}/healthz"),
            # A person waits for each answer: a resume Prefect cannot take now is deferred
            # at once (housekeeping makes it within seconds), not after connection retries.
            extra_env={"JIELI_PREFECT_CONNECT_RETRIES": "0"},
            port=(s.forms_host, s.forms_port), again=self.start_forms)

    def child(self, name: str) -> Child:
        return next(c for c in self.children if c.name == name)

    def supervise(self, stopped: threading.Event,
                  say: Callable[[str], None] = log.warning) -> None:
        """Start again every child that dies, with backoff, until `stopped` is set."""
        # The delay doubles from 1 s at each death in a row, at most RESTART_MAX_DELAY; a
        # child that stayed up RESTART_RESET_AFTER seconds starts from 1 s again.
        failures: dict[str, int] = {}
        due: dict[str, float] = {}  # name -> when to start it again
        while not stopped.wait(0.2):
            now = time.monotonic()
            for child in [c for c in self.children if c.process.poll() is not None]:
                self.children.remove(child)
                child.reap()
                if now - child.started_at >= RESTART_RESET_AFTER:
                    failures[child.name] = 0
                delay = min(2.0 ** failures.get(child.name, 0), RESTART_MAX_DELAY)
                failures[child.name] = failures.get(child.name, 0) + 1
                due[child.name] = now + delay
                say(f"{child.name} exited with code {child.process.returncode}; "
                    f"starting it again in {delay:.0f}s (log: {child.log})")
            for name, when in sorted(due.items(), key=lambda item: item[1]):
                if when > now or stopped.is_set():
                    continue
                del due[name]
                try:
                    self.restarts[name]()
                except (RuntimeError, TimeoutError) as exc:
                    delay = min(2.0 ** failures.get(name, 0), RESTART_MAX_DELAY)
                    failures[name] = failures.get(name, 0) + 1
                    due[name] = time.monotonic() + delay
                    say(f"{name} did not start again ({str(exc).splitlines()[0]}); "
                        f"next try in {delay:.0f}s")
                else:
                    say(f"{name} started again")

    def stop(self) -> None:
        """Stop every child, the clients before the servers they call: a runner stopped after
        the Prefect server spends its shutdown (pausing its schedules) waiting for it, until it
        is killed 15 s later. A child started again (supervision, a test) is last in
        `children`, so the order of that list cannot be the order of stopping."""
        def rank(child: Child) -> int:
            return STOP_ORDER.index(child.name) if child.name in STOP_ORDER else -1
        for child in sorted(self.children, key=rank):
            child.stop()
        self.children.clear()


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def prefect_auth(settings: Settings) -> httpx.BasicAuth | None:
    """The credentials the Prefect API asks for, when it is protected."""
    if settings.prefect_auth_string is None:
        return None
    user, _, password = settings.prefect_auth_string.get_secret_value().partition(":")
    return httpx.BasicAuth(user, password)


def _runner_polling(settings: Settings, since: float) -> bool:
    """True once a runner started after `since` polls for the onboarding deployment's runs."""
    from datetime import datetime

    api_url = settings.prefect_api_url
    try:
        r = httpx.get(f"{api_url}/deployments/name/onboarding/onboarding", timeout=2,
                      auth=prefect_auth(settings))
    except httpx.HTTPError:
        return False
    polled = r.json().get("last_polled") if r.status_code == 200 else None
    return isinstance(polled, str) and datetime.fromisoformat(polled).timestamp() >= since


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0
