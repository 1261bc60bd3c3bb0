"""`jieli simulate`: play scenarios through the real system in virtual time.

The real onboarding flow runs against a real Prefect server (suspending and resuming through
its API); this process acts as the runner, executing each scheduled pass in-process so that
the virtual clock is the same everywhere. The real forms app is served over HTTP in a thread
of this process, and a real SMTP server (aiosmtpd) receives every email. Each step is taken
by the person it names, following the link in an email they received.

Import this module only after `prepare_environment` has set Prefect's environment.
"""

from __future__ import annotations

import contextlib
import email
import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from deployments.scenario import Scenario
from deployments.stack import free_port

SIMULATION_DEPLOYMENT = "simulation"


def prepare_environment(workdir: Path, prefect_api_url: str) -> None:
    """Point Prefect (read once, at its import) at this simulation's places; Jieli's settings
    are the simulator's (`Simulator.installation`)."""
    os.environ.update({
        "PREFECT_API_URL": prefect_api_url,
        "PREFECT_HOME": str(workdir / "prefect"),
        "PREFECT_LOCAL_STORAGE_PATH": str(workdir / "prefect" / "results"),
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "0.5",
    })
    from storage.settings import Settings

    auth = Settings().prefect_auth_string
    if auth is not None:
        # The simulation's server asks for it too (stack_env); Prefect's own clients here
        # read only their own variable.
        os.environ["PREFECT_API_AUTH_STRING"] = auth.get_secret_value()


class StepFailed(Exception):
    pass


@dataclass
class Mailbox:
    """What the SMTP server received, in order."""

    messages: list[tuple[str, EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        for rcpt in envelope.rcpt_tos:
            self.messages.append((rcpt.lower(), message))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        """The messages received for `address`, in order."""
        return [m for rcpt, m in self.messages if rcpt == address.lower()]

    def link(self, to: str, pattern: str) -> str | None:
        """The newest link matching `pattern` in a message to `to`."""
        for rcpt, message in reversed(self.messages):
            if rcpt != to.lower():
                continue
            text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            found = re.findall(rf"https?://\S*{pattern}\S*", text)
            if found:
                return str(found[-1])
        return None


class Simulator:
    """Plays scenarios one after another, each on storage of its own."""

    def __init__(self, workdir: Path, prefect_api_url: str):
        from aiosmtpd.controller import Controller

        # Each pass's story goes to the run's Logs tab in Prefect, and not to this terminal.
        run_log = logging.getLogger("prefect.flow_runs")
        run_log.setLevel(logging.INFO)
        run_log.propagate = False
        self.workdir = workdir
        self.prefect_api_url = prefect_api_url
        self.mailbox = Mailbox()
        self.smtp_port = free_port()
        self.smtp = Controller(self.mailbox, hostname="127.0.0.1", port=self.smtp_port)
        self.smtp.start()
        self.forms_port = free_port()
        self._server: Any = None
        from storage.settings import get_settings, use_settings

        # The installation's settings, which each scenario's are made from (`_use_storage`),
        # with this simulation's Prefect server and a deployment of its own; `close` puts the
        # process's settings back.
        self.installation = get_settings().model_copy(update={
            "prefect_api_url": prefect_api_url, "deployment": SIMULATION_DEPLOYMENT})
        self._outer = use_settings(self.installation)
        # The catalog the scenarios play against (the installation's, or the default one).
        self.catalog_dir = self.installation.catalog_dir

    def close(self) -> None:
        from prefect.logging.handlers import APILogWorker

        # The passes' log lines still queued go now, while their Prefect server is up.
        APILogWorker.drain_all()
        if self._server is not None:
            self._server.should_exit = True
        self.smtp.stop()
        from storage.settings import use_settings

        use_settings(self._outer)

    def _serve_forms(self) -> None:
        import uvicorn

        from forms.app import app

        config = uvicorn.Config(app, host="127.0.0.1", port=self.forms_port,
                                log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        threading.Thread(target=self._server.run, daemon=True).start()
        # Generous: `.ci/run` plays the scenarios at the lowest priority beside the tests.
        deadline = time.monotonic() + 120
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the forms app did not start")
            time.sleep(0.05)

    def _use_storage(self, index: int, scenario: Scenario) -> None:
        """Fresh storage and settings for one scenario (materials belong to the company)."""
        from deployments.cli import prepare_storage
        from storage.settings import SmtpSettings, use_settings

        place = self.workdir / f"scenario-{index}"
        # Only the simulation's own places: never the installation's database or mail server.
        use_settings(self.installation.model_copy(update={
            "data_dir": place, "database_url": "",
            "smtp": SmtpSettings(host="127.0.0.1", port=self.smtp_port, tls=False),
            "public_base_url": f"http://127.0.0.1:{self.forms_port}",
            "catalog_dir": self._catalog_for(scenario, place)}))
        prepare_storage()

    def _catalog_for(self, scenario: Scenario, place: Path) -> Path | None:
        """The catalog directory this scenario plays against: the simulation's, or a copy of it
        with the calendar the scenario names (a company that chose another calendar)."""
        if scenario.calendar is None:
            return self.catalog_dir
        import shutil

        import yaml

        from storage.catalog import DEFAULT_CATALOG_DIR

        copy = place / "catalog"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(self.catalog_dir or DEFAULT_CATALOG_DIR, copy)
        rules = yaml.safe_load((copy / "rules.yaml").read_text(encoding="utf-8"))
        rules["calendar"] = scenario.calendar.value
        (copy / "rules.yaml").write_text(yaml.safe_dump(rules, allow_unicode=True),
                                         encoding="utf-8")
        return copy

    def play(self, scenario: Scenario, index: int) -> dict[str, Any]:
        from prefect.context import SyncClientContext

        from storage import clock

        self._use_storage(index, scenario)
        if self._server is None:
            self._serve_forms()
        self.mailbox.messages.clear()
        zone = ZoneInfo(self.installation.timezone)
        first_day = datetime.combine(scenario.hire.start, datetime.min.time(), tzinfo=zone)
        self.clock = clock.VirtualClock(first_day + timedelta(hours=9))
        clock.use_clock(self.clock)
        self.first_day = first_day
        self.run_id: int | None = None
        self.sessions = self.submissions = 0  # to tell one session or hand-in from the next
        result: dict[str, Any] = {"name": scenario.name}
        try:
            # One API client for every call of this thread (passes, sweeps, resumes): a new
            # client per call costs its TLS set-up, about a quarter of the simulation's time.
            with SyncClientContext.get_or_create():
                self._play(scenario)
        except StepFailed as exc:
            result["error"] = str(exc)
        except Exception as exc:  # noqa: BLE001 - one broken scenario must not stop the others
            result["error"] = f"{type(exc).__name__}: {exc}"
        try:
            result.update(self._report())
        finally:
            clock.use_clock(clock.SystemClock())
        result["ok"] = "error" not in result and _expectations_hold(scenario, result)
        return result

    def _at(self, day: int, minutes: int = 0) -> None:
        self.clock.set(self.first_day + timedelta(days=day, hours=9, minutes=minutes))

    def _play(self, scenario: Scenario) -> None:
        from tasks.handoff import deliver_materials

        steps = scenario.ordered_steps()
        last = max([s.day for s in steps] + [scenario.hire.started])
        catalog = self._catalog()
        for code in scenario.ready:
            owner = catalog.owner_of(code)
            self.clock.set(self.first_day - timedelta(days=1))
            deliver_materials(module_code=code, by_email=owner.email, via="cli",
                              note="ready before the run")
        for day in range(last + 1):
            self._at(day)
            if day == scenario.hire.started:
                self._start(scenario)
            self._sweep()
            for minute, step in enumerate((s for s in steps if s.day == day), start=1):
                self._at(day, minute)
                try:
                    self._take(step, scenario)
                except StepFailed as exc:
                    raise StepFailed(f"{step.describe()}: {exc}") from None
                self._drain()

    @staticmethod
    def _catalog() -> Any:
        from tasks.env import get_catalog

        return get_catalog()

    def _start(self, scenario: Scenario) -> None:
        from tasks.runs import start_onboarding

        hire = scenario.hire
        started = start_onboarding(name=hire.name, email=hire.email, position=hire.position,
                                   start=hire.start, by_email=self._catalog().hr().owner.email,
                                   via="cli")  # as HR does with `jieli hire`
        self.run_id = started.run_id
        self._drain()

    def _sweep(self) -> None:
        """The housekeeping the runner and the sweep do (the same functions), at this moment of
        virtual time, then the passes it resumed (this process is the runner)."""
        from tasks.housekeeping import quick_chores, timed_chores

        timed_chores()
        quick_chores()
        self._drain()

    def _drain(self) -> None:
        """Execute every pass Prefect has scheduled for this scenario's run (as its runner)."""
        from uuid import UUID

        from prefect.exceptions import Pause
        from prefect.flow_engine import run_flow
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

        from flows.onboarding import onboarding
        from storage import repo
        from tasks.email import send_pending_mail
        from tasks.env import transaction
        from tasks.runs import prefect_client

        if self.run_id is None:
            return
        for _ in range(20):
            with transaction() as session:
                flow_run_id = repo.get_run(session=session, run_id=self.run_id).flow_run_id
            if flow_run_id is None:
                return
            with prefect_client() as client:
                flow_run = client.read_flow_run(UUID(flow_run_id))
            state = flow_run.state
            if state is not None and (state.is_failed() or state.is_crashed()):
                raise StepFailed(f"a pass of the run ended {state.name}: {state.message}")
            if state is None or not (state.is_scheduled() or state.is_pending()):
                send_pending_mail()
                return
            # A suspending pass ends with Pause: the run waits in Prefect, as with a runner.
            # Heartbeats detect a dead runner process; this process is the runner, and
            # stopping their thread costs up to a second a pass.
            with contextlib.suppress(Pause), \
                    temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
                run_flow(onboarding, flow_run=flow_run, parameters={"run_id": self.run_id},
                         return_type="state")
        raise StepFailed("the run kept being rescheduled (20 passes in a row)")

    def _take(self, step: Any, scenario: Scenario) -> None:
        http = httpx.Client(timeout=30)
        catalog = self._catalog()
        if step.deliver:
            if step.deliver not in catalog.modules:
                raise StepFailed(f"unknown module {step.deliver}")
            owner = catalog.owner_of(step.deliver)
            link = self.mailbox.link(owner.email, f"/handoff/{step.deliver}\\?t=")
            if link is None:
                raise StepFailed(f"{owner.email} has no email with the hand-off link")
            data = {f"link-{m.code}": f"https://docs.example.com/{step.deliver}/{m.code}"
                    for m in catalog.modules[step.deliver].materials}
            _expect_ok(http.post(link, data=data, files={"none": ("", b"")}))
        elif step.quiz:
            self._quiz(http, step.quiz.module, step.quiz.score, scenario, catalog)
        elif step.coach is not None:
            self._coach(http, step, scenario, catalog)
        elif step.submit is not None:
            link = self._link(scenario.hire.email,
                              f"/submit/{self.run_id}\\.{step.submit.module}\\?t=")
            self.submissions += 1
            _expect_ok(http.post(link, data={
                "link": f"https://git.example.com/hire/{step.submit.module}/{self.submissions}",
                "note": ""}, files={"none": ("", b"")}))
        elif step.grade is not None:
            self._grade(http, step, catalog)
        elif step.appraise is not None:
            manager = catalog.departments[catalog.positions[scenario.hire.position]
                                          .department].manager
            link = self.mailbox.link(manager.email, f"/appraise/{self.run_id}\\?t=")
            if link is None:
                raise StepFailed(f"{manager.email} has no email with the appraisal link")
            data = {f"score-{item}-{criterion}": str(score)
                    for item, criteria in step.appraise.items()
                    for criterion, score in criteria.items()}
            _expect_ok(http.post(link, data=data))

    def _link(self, to: str, pattern: str) -> str:
        link = self.mailbox.link(to, pattern)
        if link is None:
            raise StepFailed(f"{to} has no email with the link it needs")
        return link

    def _coach(self, http: httpx.Client, step: Any, scenario: Scenario, catalog: Any) -> None:
        """The owner records a session from the coaching email; the hire answers it from the
        email that recording sent."""
        from tasks.dates import local_date
        from tasks.email import send_pending_mail

        module = step.coach.module
        owner = catalog.owner_of(module)
        link = self._link(owner.email, f"/coaching/{self.run_id}\\.{module}\\?t=")
        self.sessions += 1
        _expect_ok(http.post(link, data={
            "held_on": local_date(self.clock.now()).isoformat(), "minutes": "60",
            "topic": f"coaching session {self.sessions}", "notes": ""}))
        send_pending_mail()  # as the runner's housekeeping does within seconds
        answer = self._link(scenario.hire.email, "/coaching/sessions/\\d+\\?t=")
        _expect_ok(http.post(answer, data={
            "answer": "confirmed" if step.coach.confirmed else "disputed", "comment": ""}))

    def _grade(self, http: httpx.Client, step: Any, catalog: Any) -> None:
        from sqlalchemy import select

        from storage.models import Submission
        from tasks.env import transaction
        from tasks.practice import graders

        module = catalog.modules[step.grade.module]
        rubric = module.practice.assignment.rubric if module.practice and \
            module.practice.assignment else []
        with transaction() as session:
            latest = session.scalar(select(Submission.id).where(
                Submission.run_id == self.run_id, Submission.module_code == module.code)
                .order_by(Submission.number.desc()).limit(1))
            reviewer = graders(session, module.owner)[0].email
        if latest is None:
            raise StepFailed(f"nothing of {module.code} was handed in")
        link = self._link(reviewer, f"/grade/{latest}\\?t=")
        scores = step.grade.scores or {c.code: step.grade.score for c in rubric}
        _expect_ok(http.post(link, data={f"score-{c}": str(v) for c, v in scores.items()}))

    def _quiz(self, http: httpx.Client, module: str, score: int, scenario: Scenario,
              catalog: Any) -> None:
        from storage import repo
        from tasks.env import transaction

        if self.run_id is None:
            raise StepFailed("the onboarding run has not started")
        with transaction() as session:
            assignment = repo.assignments_of(session=session, run_id=self.run_id).get(module)
            assignment_id = assignment.id if assignment else None
        if assignment_id is None:
            raise StepFailed(f"{module} is not assigned to the hire")
        study = self.mailbox.link(scenario.hire.email, f"/study/{assignment_id}\\?t=")
        if study is None:
            raise StepFailed(f"{scenario.hire.email} has no email with the study link")
        page = _expect_ok(http.get(study))
        quiz = re.search(r'href="(/quiz/\d+\?t=[^"]+)"', page.text)
        if quiz is None:
            raise StepFailed("the study page offers no quiz")
        url = f"http://127.0.0.1:{self.forms_port}{quiz.group(1)}"
        quiz_spec = catalog.modules[module].quiz
        questions = quiz_spec.questions
        # A score the quiz cannot give exactly (85 with 10 questions) is played as the
        # nearest one below it (80): passed or failed alike, unless the pass mark itself
        # falls between the two.
        right = max(r for r in range(len(questions) + 1)
                    if round(100 * r / len(questions)) <= score)
        played = round(100 * right / len(questions))
        if (played >= quiz_spec.pass_mark) != (score >= quiz_spec.pass_mark):
            raise StepFailed(f"a score of {score} is not possible with {len(questions)} "
                             f"questions, and {played} would not pass or fail alike")
        answers = {f"q{i}": str(q.answer if i < right else (q.answer + 1) % len(q.choices))
                   for i, q in enumerate(questions)}
        _expect_ok(http.post(url, data=answers))

    def _report(self) -> dict[str, Any]:
        from sqlalchemy import select

        from storage import repo
        from storage.models import AssignmentStatus, Reminder
        from tasks.dates import local_date
        from tasks.env import transaction
        from tasks.reports.verdict import verdict_of

        if self.run_id is None:
            return {"outcome": "pending", "findings": [], "remedial": [], "remedial_done": [],
                    "reminders": []}
        with transaction() as session:
            verdict = verdict_of(session, self.run_id)
            assignments = repo.assignments_of(session=session, run_id=self.run_id)
            reminders = [{"to": r.to_email, "role": r.role, "department": r.department,
                          "about": r.about,
                          "day": (local_date(r.sent_at) - self.first_day.date()).days}
                         for r in session.scalars(select(Reminder).where(
                             Reminder.run_id == self.run_id).order_by(Reminder.id))]
        remedial = sorted({m for f in verdict.findings for m in f["remedial"]})
        done = [m for m in remedial
                if m in assignments and assignments[m].status == AssignmentStatus.PASSED]
        return {"outcome": verdict.outcome,
                "findings": [{k: f[k] for k in ("item", "cause", "responsible", "evidence")}
                             for f in verdict.findings],
                "remedial": remedial, "remedial_done": done, "reminders": reminders}


def _expect_ok(response: httpx.Response) -> httpx.Response:
    if response.status_code != 200:
        title = re.search(r"<h1[^>]*>(.*?)</h1>", response.text, re.S)
        raise StepFailed(f"the form answered {response.status_code}"
                         + (f": {title.group(1).strip()}" if title else ""))
    return response


def _expectations_hold(scenario: Scenario, result: dict[str, Any]) -> bool:
    expect = scenario.expect
    if expect is None:
        return True
    if expect.outcome is not None and expect.outcome != result["outcome"]:
        return False
    if expect.findings is not None:
        wanted = sorted((f.item, f.cause, f.responsible) for f in expect.findings)
        got = sorted((f["item"], f["cause"], f["responsible"]) for f in result["findings"])
        if wanted != got:
            return False
    if expect.remedial_done is not None and \
            sorted(expect.remedial_done) != result["remedial_done"]:
        return False
    return expect.remedial is None or sorted(expect.remedial) == result["remedial"]
