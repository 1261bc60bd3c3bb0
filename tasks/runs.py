"""Onboarding runs in Prefect: start one per hire, resume it, recover it after a crash.

Storage is the truth. A Prefect flow run is how a run's passes are executed and watched;
whenever Prefect cannot be reached, what a person did is already in storage and the run is
started or resumed later by `resume_requested_runs` (the sweep, `jieli up`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from uuid import UUID

import httpx
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterName,
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, State, StateType
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings
from prefect.states import Scheduled
from sqlalchemy import select

from storage import clock, repo
from storage.models import Run, RunStatus
from storage.names import check_email, check_name
from storage.settings import get_settings
from tasks.dates import spoken_time
from tasks.email import Recipient, render, send_pending_mail
from tasks.env import get_catalog, reading, transaction
from tasks.i18n import normalize_locale
from tasks.permissions import check, position_target

log = logging.getLogger(__name__)

# What "Prefect cannot be reached" looks like from the client.
UNREACHABLE = (httpx.TransportError, PrefectHTTPStatusError)
# A pass that fails the same way this many times in a row is not retried again: the run is
# marked as needing attention and HR is emailed, until `jieli resume <run>`.
MAX_FAILED_PASSES = 3


@contextmanager
def prefect_client() -> Iterator[SyncPrefectClient]:
    """A client of the Prefect API that Jieli's settings name."""
    settings = get_settings()
    url = settings.prefect_api_url
    auth = settings.prefect_auth_string.get_secret_value() \
        if settings.prefect_auth_string else None
    # Prefect's client tries a refused connection 3 more times (about 3.5 s). The forms app
    # sets 0: a person waits for its answer, and a resume it cannot make is deferred and made
    # by housekeeping within seconds anyway.
    httpx_settings = None if settings.prefect_connect_retries is None else {
        "transport": httpx.HTTPTransport(retries=settings.prefect_connect_retries)}
    if PREFECT_API_URL.value() == url and PREFECT_API_AUTH_STRING.value() == auth:
        # Already so (the runner's processes, the simulator): copying Prefect's settings
        # for nothing costs about 50 ms a call.
        with get_client(httpx_settings=httpx_settings, sync_client=True) as client:
            yield client
        return
    with temporary_settings(updates={PREFECT_API_URL: url, PREFECT_API_AUTH_STRING: auth}), \
            get_client(httpx_settings=httpx_settings, sync_client=True) as client:
        yield client


def ui_url(flow_run_id: str) -> str:
    """The flow run's page in the Prefect UI (served at the API's address without /api)."""
    api = get_settings().prefect_api_url.rstrip("/")
    base = api[: -len("/api")] if api.endswith("/api") else api
    return f"{base}/runs/flow-run/{flow_run_id}"


def run_ui_url(run_id: int) -> str | None:
    """The run's page in the Prefect UI; None while Prefect has no flow run for it yet."""
    with reading() as session:
        flow_run_id = repo.get_run(session=session, run_id=run_id).flow_run_id
    return ui_url(flow_run_id) if flow_run_id else None


def flow_run_name(run: Run) -> str:
    """张伟 · 市场专员 · #1: the hire, the position in the installation's language, the run."""
    title = run.plan.position.title.get(normalize_locale(get_settings().default_locale))
    return f"{run.hire.name} · {title} · #{run.id}"


class UnknownPosition(LookupError):
    pass


class AlreadyOnboarding(ValueError):
    """The hire has an active onboarding run already (`run_id`)."""

    def __init__(self, message: str, run_id: int | None = None):
        super().__init__(message)
        self.run_id = run_id


@dataclass(frozen=True)
class StartedRun:
    run_id: int
    flow_run_id: str | None  # None when Prefect could not be reached; started later


def start_onboarding(*, name: str, email: str, position: str, start: date, by_email: str,
                     via: str, locale: str = "zh_CN") -> StartedRun:
    """HR (or the boss) starts one onboarding run for a hire: stored first, then created in
    Prefect. The web form, `jieli hire` and the `start-onboarding` deployment all call this.

    The name and address are checked before anything is stored (InvalidPerson says what to
    fix; see storage/names.py for what a name may hold and why); then the matrix is asked
    whether `by_email` may start a run (NotPermitted, audited with `via`, when not).
    """
    name, email = check_name(name), check_email(email)
    catalog = get_catalog()
    if position not in catalog.positions:
        known = ", ".join(sorted(catalog.positions))
        raise UnknownPosition(f"unknown position {position!r} (known: {known})")
    actor = check(action="start", target=position_target(position), via=via,
                  by_email=by_email)
    now = clock.now()
    with transaction() as session:
        hire = repo.upsert_person(session=session, name=name, email=email, locale=locale)
        existing = session.scalar(select(Run.id).where(Run.hire_id == hire.id,
                                                       Run.status == RunStatus.ACTIVE))
        if existing is not None:
            raise AlreadyOnboarding(
                f"{email} already has an active onboarding run #{existing}", existing)
        run = repo.create_run(session=session, catalog=catalog, hire=hire,
                              position_code=position, start_date=start, now=now)
        repo.audit(session=session, actor=actor, action="run-started", object_type="run",
                   object_id=str(run.id), via=via, now=now,
                   detail={"hire": hire.email, "position": position,
                           "start": start.isoformat()})
        run_id = run.id
    try:
        return StartedRun(run_id, ensure_flow_run(run_id))
    except (*UNREACHABLE, ObjectNotFound) as exc:  # no server, or the runner not up yet
        log.warning("run %s stored; Prefect unreachable, it starts later: %s", run_id, exc)
        return StartedRun(run_id, None)


def ensure_flow_run(run_id: int) -> str:
    """The run's Prefect flow run, created from the deployment if it has none (idempotent)."""
    with transaction() as session:
        run = repo.get_run(session=session, run_id=run_id)
        if run.flow_run_id:
            return run.flow_run_id
        name = flow_run_name(run)
        position = run.position_code
        # Unique beyond this database: a new Jieli database against the same Prefect server
        # must not be handed an old run's flow run.
        key = f"jieli-run-{run.uid or run_id}"
    with prefect_client() as client:
        deployment = client.read_deployment_by_name(
            f"onboarding/{get_settings().deployment}")
        flow_run = client.create_flow_run_from_deployment(
            deployment.id, parameters={"run_id": run_id}, name=name,
            tags=["jieli", f"position:{position}"],
            idempotency_key=key)
    with transaction() as session:
        repo.get_run(session=session, run_id=run_id).flow_run_id = str(flow_run.id)
    return str(flow_run.id)


def resume_run(run_id: int, *, clear_attention: bool = False, bring_back: bool = False,
               actor: str = "hr") -> bool:
    """Make the run re-evaluate now. True when done or under way; False when deferred.

    An already-resumed or running run counts as success: its pass reads storage after the
    request (or sees `resume_requested_at` and takes another pass before it suspends).
    A run marked as needing attention stays stopped unless `clear_attention` (HR's resume).
    A run cancelled in Prefect comes back only when HR asks for it (`bring_back`): a
    delivery to a cancelled run must not undo the cancel.
    """
    now = clock.now()
    with transaction() as session:
        run = repo.get_run(session=session, run_id=run_id)
        flow_run_id, status, hire_id = run.flow_run_id, run.status, run.hire_id
        marked = run.attention_at is not None
        if marked and clear_attention:
            repo.audit(session=session, actor=actor, action="run-attention-cleared",
                       object_type="run", object_id=str(run_id), via="cli", now=now,
                       detail={"failures": run.failures or []})
            run.attention_at, run.failures = None, []
    if status == RunStatus.COMPLETED:
        return True
    if status == RunStatus.CANCELLED:
        if not bring_back:
            log.info("run %s was cancelled; `jieli resume %s` brings it back", run_id, run_id)
            return True
        return _bring_back(run_id, flow_run_id, hire_id, actor)
    if marked and not clear_attention:
        log.warning("run %s needs attention; not resumed until HR resumes it", run_id)
        return True
    try:
        if flow_run_id is None:
            ensure_flow_run(run_id)
            return True
        with prefect_client() as client:
            flow_run = client.read_flow_run(UUID(flow_run_id))
            state = flow_run.state
            if state is not None and state.is_paused():
                client.resume_flow_run(UUID(flow_run_id))
            elif state is not None and state.type in (StateType.FAILED, StateType.CRASHED):
                # A pass that failed is taken again (storage makes the repeat safe), unless it
                # failed the same way too often; HR's resume retries it whatever it counted.
                if marked or _count_failed_pass(run_id, flow_run):
                    client.set_flow_run_state(UUID(flow_run_id), Scheduled(), force=True)
            elif stopped_with_the_runner(state):
                client.set_flow_run_state(UUID(flow_run_id), Scheduled(), force=True)
            elif state is not None and state.type in CANCELLED_TYPES and bring_back:
                # Cancelled, not yet noticed by the sweep, and HR wants it back.
                client.set_flow_run_state(UUID(flow_run_id), Scheduled(), force=True)
            elif state is not None and state.type in CANCELLED_TYPES:
                # The sweep marks it cancelled and tells HR.
                log.warning("run %s was cancelled in Prefect; not resumed", run_id)
    except UNREACHABLE as exc:
        log.warning("run %s: Prefect unreachable, resume deferred: %s", run_id, exc)
        return False
    except ObjectNotFound:
        log.warning("run %s: flow run %s is gone from Prefect; creating another", run_id,
                    flow_run_id)
        with transaction() as session:
            repo.get_run(session=session, run_id=run_id).flow_run_id = None
        try:
            ensure_flow_run(run_id)
        except (*UNREACHABLE, ObjectNotFound):
            return False
    return True


# A cancel in the UI: Cancelling while a pass runs (the runner then kills it), Cancelled at
# once when the run waits (Prefect's BypassCancellingFlowRunsWithNoInfra rule).
CANCELLED_TYPES = (StateType.CANCELLING, StateType.CANCELLED)
# Prefect's runner, when it is stopped (`jieli up` stopping, a restart for an upgrade), cancels
# the passes it is running with this message (`CancellationManager.cancel_all` in
# prefect/runner/_cancellation_manager.py). Such a pass was interrupted, as by a crash, not
# cancelled by a person: the run is scheduled again, and nobody is told.
RUNNER_STOPPED = "Runner is shutting down."


def stopped_with_the_runner(state: State | None) -> bool:
    """Whether a flow run's state is a pass cancelled because its runner stopped."""
    return state is not None and state.type == StateType.CANCELLED \
        and state.message == RUNNER_STOPPED


def _bring_back(run_id: int, flow_run_id: str | None, hire_id: int, actor: str) -> bool:
    """HR brings back a run cancelled in Prefect: its flow run is scheduled again (a pass
    from the top, safe to repeat), then storage says active again, audited."""
    with transaction() as session:
        other = session.scalar(select(Run.id).where(
            Run.hire_id == hire_id, Run.status == RunStatus.ACTIVE, Run.id != run_id))
    if other is not None:
        raise AlreadyOnboarding(f"the hire has another active onboarding run #{other}", other)
    state_name = None
    try:
        if flow_run_id is not None:
            try:
                with prefect_client() as client:
                    state = client.read_flow_run(UUID(flow_run_id)).state
                    state_name = state.name if state else None
                    if state is not None and state.type in CANCELLED_TYPES:
                        # A cancelled flow run cannot be resumed; Scheduled (forced) runs
                        # its flow again from the top, under the same id and UI link.
                        client.set_flow_run_state(UUID(flow_run_id), Scheduled(), force=True)
                    elif state is not None and state.is_paused():
                        client.resume_flow_run(UUID(flow_run_id))
            except ObjectNotFound:  # deleted in Prefect as well: a new flow run
                with transaction() as session:
                    repo.get_run(session=session, run_id=run_id).flow_run_id = None
                flow_run_id = None
        if flow_run_id is None:
            flow_run_id = ensure_flow_run(run_id)
    except (*UNREACHABLE, ObjectNotFound) as exc:
        # Storage stays cancelled, so the sweep does not take the run for cancelled again.
        log.warning("run %s: Prefect unreachable, not brought back: %s", run_id, exc)
        return False
    now = clock.now()
    with transaction() as session:
        run = repo.get_run(session=session, run_id=run_id)
        if run.status == RunStatus.CANCELLED:
            run.status = RunStatus.ACTIVE
            repo.audit(session=session, actor=actor, action="run-brought-back",
                       object_type="run", object_id=str(run_id), via="cli", now=now,
                       detail={"flow_run": flow_run_id, "prefect_state": state_name})
    return True


def notice_cancelled_runs() -> list[int]:
    """Mark cancelled the active runs whose flow run was cancelled in Prefect; tell HR once.

    A pass cancelled because its runner stopped is scheduled again instead (the runner calls
    this at its start, and its housekeeping every minute)."""
    with transaction() as session:
        active = {flow_run_id: run_id for run_id, flow_run_id in session.execute(
            select(Run.id, Run.flow_run_id).where(Run.status == RunStatus.ACTIVE,
                                                  Run.flow_run_id.is_not(None)))}
    if not active:
        return []
    with prefect_client() as client:
        cancelled = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(any_=[UUID(i) for i in active]),
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=list(CANCELLED_TYPES)))))
        interrupted = [f for f in cancelled if stopped_with_the_runner(f.state)]
        for flow_run in interrupted:
            client.set_flow_run_state(flow_run.id, Scheduled(), force=True)
            log.warning("run %s: its pass was cancelled when its runner stopped; scheduled "
                        "again", active[str(flow_run.id)])
    cancelled = [f for f in cancelled if not stopped_with_the_runner(f.state)]
    noticed = []
    now = clock.now()
    hr = get_catalog().hr().owner
    for flow_run in cancelled:
        state = flow_run.state
        if state is None:
            continue
        run_id = active[str(flow_run.id)]
        with transaction() as session:
            run = repo.get_run(session=session, run_id=run_id)
            if run.status != RunStatus.ACTIVE or run.flow_run_id != str(flow_run.id):
                continue  # brought back or changed meanwhile
            run.status = RunStatus.CANCELLED
            repo.audit(session=session, actor="prefect", action="run-cancelled",
                       object_type="run", object_id=str(run_id), via="prefect", now=now,
                       detail={"flow_run": str(flow_run.id), "state": state.name,
                               "at": state.timestamp.isoformat(),
                               "message": state.message or ""})
            person = repo.person_by_email(session=session, email=hr.email)
            if person is not None:
                message = render(
                    "run_cancelled", to=Recipient(person.name, person.email, person.locale),
                    hire=run.hire.name, run_id=run_id,
                    when=spoken_time(state.timestamp, person.locale),
                    position=run.plan.position.title.get(normalize_locale(person.locale)),
                    link=ui_url(str(flow_run.id)))
                # Keyed by the cancel itself: one email each time the run is cancelled.
                repo.queue_message(session=session, key=f"run-cancelled:{run_id}:{state.id}",
                                   run_id=run_id, kind="run-cancelled", message=message,
                                   now=now)
        log.warning("run %s: flow run %s was %s in Prefect; marked cancelled", run_id,
                    flow_run.id, state.name)
        noticed.append(run_id)
    return noticed


def resume_requested_runs() -> dict[str, int]:
    """Resume every run whose resume was requested and not yet taken up (sweep, start-up)."""
    with reading() as session:
        ids = list(session.scalars(select(Run.id).where(
            Run.status == RunStatus.ACTIVE, Run.attention_at.is_(None),
            (Run.resume_requested_at.is_not(None)) | (Run.flow_run_id.is_(None)))))
    counts = {"resumed": 0, "deferred": 0}
    for run_id in ids:
        counts["resumed" if resume_run(run_id) else "deferred"] += 1
    return counts


def retry_failed_runs() -> int:
    """Reschedule onboarding flow runs whose pass failed or crashed while Jieli's run is active.

    A failed pass (a 503 from the server, a killed process) would otherwise leave the hire's
    run stopped until someone noticed. One that failed the same way MAX_FAILED_PASSES times
    in a row is not retried: the run is marked as needing attention and HR is told once.
    """
    failed = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
        any_=[StateType.FAILED, StateType.CRASHED])))
    with reading() as session:
        active = {flow_run_id: run_id for flow_run_id, run_id in session.execute(
            select(Run.flow_run_id, Run.id).where(
                Run.status == RunStatus.ACTIVE, Run.flow_run_id.is_not(None),
                Run.attention_at.is_(None)))}
    retried = 0
    with prefect_client() as client:
        runs = [r for r in client.read_flow_runs(
            flow_run_filter=failed,
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(
                any_=[get_settings().deployment])))
            if str(r.id) in active]
        for flow_run in runs:
            if _count_failed_pass(active[str(flow_run.id)], flow_run):
                client.set_flow_run_state(flow_run.id, Scheduled(), force=True)
                retried += 1
    return retried


def _count_failed_pass(run_id: int, flow_run: FlowRun) -> bool:
    """Record a failed pass of the run; True when it is to be retried.

    Failures count in a row while they have the same error and no pass went well between
    them (the pass number moved on by at most one). Each failed state counts once, however
    many sweeps see it.
    """
    state = flow_run.state
    error = (state.message or state.name) if state else "failed"
    state_id = str(state.id) if state else ""
    now = clock.now()
    with transaction() as session:
        run = repo.get_run(session=session, run_id=run_id)
        failures = list(run.failures or [])
        if run.attention_at is not None or (failures and failures[-1]["state"] == state_id):
            return False  # marked already, or counted (and retried) by another sweep
        if failures and (failures[-1]["error"] != error
                         or run.pass_no > failures[-1]["pass"] + 1):
            failures = []
        failures.append({"pass": run.pass_no, "state": state_id, "error": error,
                         "at": now.isoformat()})
        run.failures = failures
        if len(failures) < MAX_FAILED_PASSES:
            return True
        run.attention_at = now
        repo.audit(session=session, actor="system", action="run-needs-attention",
                   object_type="run", object_id=str(run_id), via="flow", now=now,
                   detail={"error": error, "failures": failures})
        hr = repo.department(session=session, code="hr").owner
        message = render("attention", to=Recipient(hr.name, hr.email, hr.locale),
                         hire=run.hire.name, run_id=run_id, error=error,
                         failures=len(failures))
        key = f"attention:{run_id}:{run.pass_no}"
        repo.queue_message(session=session, key=key, run_id=run_id, kind="attention",
                           message=message, now=now)
    log.warning("run %s failed %d times the same way (%s); it needs attention", run_id,
                len(failures), error)
    send_pending_mail(key=key)
    return False


def recover_interrupted_runs() -> int:
    """Reschedule onboarding flow runs that a dead runner left Running, Pending or Crashed.

    For a single runner (`jieli up`) at its start, when no other runner may own them. A pass is
    idempotent, so running it again from the top loses nothing and repeats nothing.
    """
    interrupted = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
        any_=[StateType.RUNNING, StateType.PENDING, StateType.CRASHED])))
    with prefect_client() as client:
        runs = client.read_flow_runs(
            flow_run_filter=interrupted,
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(
                any_=[get_settings().deployment])))
        for flow_run in runs:
            client.set_flow_run_state(flow_run.id, Scheduled(), force=True)
    return len(runs)
