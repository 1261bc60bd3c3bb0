"""The onboarding flow: one run per hire, a relay of legs that each have an owner.

Each pass reconciles: it reads storage, asks owners for missing materials, assigns what is
ready, opens the practice legs (coaching, an assignment) of modules that have them, asks for
the appraisal on its day, attributes a failed appraisal once it is in, then follows the
remedial training the verdict assigned, sends the mail, shows who blocks, and suspends while
anyone still has to act; it completes once the verdict is in and the remedial training done. A
suspended run holds no process; a delivery (form or CLI) resumes it and the flow runs again
from the top. Every step checks storage before it acts, so a repeated pass repeats nothing.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.flow_runs import suspend_flow_run
from prefect.runtime import flow_run
from prefect.states import Completed, State

from flows.process_title import name_the_process
from tasks.appraisal import request_appraisal
from tasks.attribution import attribute, publish_verdict
from tasks.email import send_run_mail
from tasks.failpoints import failpoint
from tasks.handoff import open_handoff_gates
from tasks.learning import assign_ready_modules, remedial_finished
from tasks.practice import open_practice_legs
from tasks.reports.relay import verdict_name
from tasks.status import begin_pass, complete_run, must_wait, publish_status


@flow(name="onboarding", persist_result=True, log_prints=True)
def onboarding(run_id: int) -> State[str]:
    name_the_process("onboarding", run_id)
    log = get_run_logger()
    while True:
        this_pass = begin_pass(run_id)
        failpoint("pass-begun")
        # Once the appraisal is in, the verdict comes first: the legs below are then the
        # remedial training it assigned.
        appraised = request_appraisal(run_id)
        verdict = attribute(run_id) if appraised else None
        open_handoff_gates(run_id)
        failpoint("after-gates")
        assign_ready_modules(run_id)
        open_practice_legs(run_id)
        failpoint("after-assign")
        finished = appraised and remedial_finished(run_id)
        if finished:
            complete_run(run_id)
        if appraised:
            publish_verdict(run_id)
        send_run_mail(run_id)
        failpoint("after-mail")
        published = publish_status(run_id, str(flow_run.get_id()))
        log.info(published.story)
        if finished and verdict is not None:
            # The final state says the verdict (通过 / 未通过), not just "Completed".
            return Completed(name=verdict_name(verdict.outcome), data=verdict.outcome)
        if must_wait(run_id, this_pass):
            failpoint("before-suspend")
            # A fresh key per pass: a key answered once would not wait again.
            suspend_flow_run(key=f"pass-{this_pass.number}", timeout=None)
