"""Whose leg broke: each failed appraisal item attributed by the catalog's decision table.

For each failed item the facts of its linked module are gathered (delivery and due dates,
quiz attempts and scores, reminders sent, the appraisal's scores), the rules are tried in
order, and the first that holds is recorded with the facts it used, as evidence.

Fair in time: nobody answers for a leg that was not yet due when the appraisal was
submitted. A fact about such a leg is None, and no condition on it holds, so the finding
goes to the next cause that does (a run started so late that a hand-off was still due at
the appraisal is HR's late start, not the department's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import clock, repo
from storage.catalog import AppraisalItem, AttributionRule, Condition, Responsible
from storage.models import (
    AppraisalScore,
    Assignment,
    Delivery,
    Finding,
    Gate,
    QuizAttempt,
    Reminder,
    Run,
)
from storage.settings import get_settings
from tasks.artifacts import artifact_key, publish_markdown
from tasks.dates import local_date, spoken_day
from tasks.email import Recipient, render
from tasks.env import get_catalog, reading, transaction
from tasks.i18n import gettext, normalize_locale
from tasks.labels import names
from tasks.learning import remedial_progress
from tasks.links import make_link
from tasks.practice import practice_facts
from tasks.reports.verdict import (
    Verdict,
    readable_findings,
    split_criteria,
    verdict_markdown,
    verdict_of,
)

RECORD_LINK_VALID_FOR = timedelta(days=7)


@dataclass
class Facts:
    delivered: bool | None  # None: not handed off, but not due before the appraisal either
    delivered_late: bool
    started_late: bool
    trained: bool
    attempts_left: bool | None  # None: not trained, but the study was not due yet
    failed: set[str]
    passed: set[str]
    evidence: list[str] = field(default_factory=list)
    # The module's practice legs (tasks/practice.py); None: no such leg, or not yet due.
    coaching_given: bool | None = None
    submitted: bool | None = None
    reviewed: bool | None = None
    assignment_passed: bool | None = None


FACT_NAMES = ("delivered", "delivered_late", "started_late", "trained", "attempts_left",
              "coaching_given", "submitted", "reviewed", "assignment_passed")


def holds(condition: Condition, facts: Facts) -> bool:
    """Whether every fact the condition names has the value it asks for."""
    for name in FACT_NAMES:
        wanted = getattr(condition, name)
        if wanted is not None and getattr(facts, name) != wanted:
            return False
    if condition.failed_any is not None and not facts.failed & set(condition.failed_any):
        return False
    return condition.passed_all is None or set(condition.passed_all) <= facts.passed



def first_rule(rules: list[AttributionRule], facts: Facts) -> AttributionRule | None:
    return next((rule for rule in rules if holds(rule.when, facts)), None)


def gather_facts(session: Session, run: Run, item: AppraisalItem, scores: dict[str, int],
                 pass_mark: int, appraised_at: datetime, locale: str) -> Facts:
    def _(s: str) -> str:
        return gettext(locale, s)

    module = next(m for m in run.plan.modules if m.code == item.module)
    code, title = module.code, module.title.get(normalize_locale(locale))

    def day(moment: datetime) -> str:
        return spoken_day(moment, locale)

    evidence: list[str] = []
    delivery = session.scalar(select(Delivery).where(
        Delivery.module_code == code, Delivery.delivered_at <= appraised_at)
        .order_by(Delivery.delivered_at).limit(1))
    handoff = repo.handoffs_of(session=session, run_id=run.id).get(code)
    reminders = list(session.scalars(select(Reminder).where(
        Reminder.run_id == run.id, Reminder.about == code).order_by(Reminder.sent_at)))
    if handoff:
        evidence.append(_("%(module)s: materials requested %(on)s, due %(due)s") % {
            "module": title, "on": day(handoff.requested_at), "due": day(handoff.due_at)})
    if delivery:
        evidence.append(_("%(module)s: materials delivered %(on)s by %(who)s") % {
            "module": title, "on": day(delivery.delivered_at),
            "who": delivery.delivered_by.name})
    elif handoff and handoff.due_at >= appraised_at:
        evidence.append(_("%(module)s: materials not handed off yet, not due before the "
                          "appraisal (due %(due)s)") % {"module": title,
                                                        "due": day(handoff.due_at)})
    else:
        evidence.append(_("%(module)s: materials never delivered") % {"module": title})
    owner_reminders = [r for r in reminders if r.role == "owner"]
    if owner_reminders:
        evidence.append(_("%(count)s reminder(s) to the owner, %(first)s to %(last)s") % {
            "count": len(owner_reminders), "first": day(owner_reminders[0].sent_at),
            "last": day(owner_reminders[-1].sent_at)})
    escalations = [r for r in reminders if r.kind == "escalation"]
    if escalations:
        told = [repo.person_by_email(session=session, email=e)
                for e in sorted({r.to_email for r in escalations})]
        evidence.append(_("escalated %(on)s to %(who)s") % {
            "on": day(escalations[0].sent_at),
            "who": names(locale).join(p.name for p in told if p is not None)})
    started_late = local_date(run.started_at) > run.start_date
    if started_late:
        evidence.append(_("onboarding started %(on)s, after the first day %(first)s") % {
            "on": day(run.started_at), "first": spoken_day(run.start_date, locale)})
    assignment = session.scalar(select(Assignment).where(Assignment.run_id == run.id,
                                                         Assignment.module_code == code))
    attempts = list(session.scalars(select(QuizAttempt).where(
        QuizAttempt.assignment_id == assignment.id, QuizAttempt.taken_at <= appraised_at)
        .order_by(QuizAttempt.attempt_no))) if assignment else []
    trained = any(a.passed for a in attempts)
    if attempts:
        evidence.append(_("quiz %(module)s: scores %(scores)s (pass mark %(mark)s)") % {
            "module": title, "scores": ", ".join(str(a.score) for a in attempts),
            "mark": module.pass_mark})
    elif assignment and assignment.due_at >= appraised_at:
        evidence.append(_("quiz %(module)s: not taken yet, not due before the appraisal "
                          "(due %(due)s)") % {"module": title,
                                              "due": day(assignment.due_at)})
    elif assignment:
        evidence.append(_("quiz %(module)s: never taken (assigned %(on)s, due %(due)s)") % {
            "module": title, "on": day(assignment.assigned_at), "due": day(assignment.due_at)})
    hire_reminders = [r for r in reminders if r.role == "hire"]
    if hire_reminders and not trained:
        evidence.append(_("%(count)s reminder(s) to the hire") % {"count": len(hire_reminders)})
    practice = practice_facts(session, run, code, appraised_at, locale)
    evidence.extend(practice.evidence)
    for criterion, score in sorted(scores.items()):
        evidence.append(_("appraisal %(item)s / %(criterion)s: %(score)s (pass mark %(mark)s)")
                        % {"item": item.title.get(normalize_locale(locale)),
                           "criterion": names(locale).criterion(criterion), "score": score,
                           "mark": pass_mark})
    failed, passed = split_criteria(scores, pass_mark)
    return Facts(
        coaching_given=practice.coaching_given, submitted=practice.submitted,
        reviewed=practice.reviewed, assignment_passed=practice.assignment_passed,
        delivered=True if delivery else was_due(handoff.due_at if handoff else None,
                                                appraised_at, False),
        delivered_late=bool(delivery and handoff and delivery.delivered_at > handoff.due_at),
        started_late=started_late, trained=trained,
        attempts_left=False if len(attempts) >= module.attempts else True if trained
        else was_due(assignment.due_at if assignment else None, appraised_at, True),
        failed=failed, passed=passed, evidence=evidence)


def was_due(due_at: datetime | None, appraised_at: datetime, fact: bool) -> bool | None:
    """`fact` when the leg was due before the appraisal; None (no one answers) otherwise."""
    return fact if due_at is not None and due_at < appraised_at else None


def record_link(*, person_id: int, run_id: int) -> str:
    """The verdict email's link: this hire's training record, read-only, and nothing else (a
    forwarded verdict opens no other run and no HR page)."""
    return make_link(path=f"/record/{run_id}", action="record", person_id=person_id,
                     object_id=str(run_id), valid_for=RECORD_LINK_VALID_FOR)


@task(cache_policy=NO_CACHE)
def attribute(run_id: int) -> Verdict:
    """Record one finding per failed appraisal item (once), assign remedial modules, tell HR
    and the boss, and publish the verdict on the run."""
    catalog = get_catalog()
    locale = get_settings().default_locale
    now = clock.now()
    with transaction() as session:
        run = repo.get_run(session=session, run_id=run_id)
        rows = list(session.scalars(select(AppraisalScore).where(
            AppraisalScore.run_id == run_id)))
        appraised_at = max(r.submitted_at for r in rows)
        appraisal = run.plan.position.appraisal
        done = {f.item for f in session.scalars(select(Finding).where(Finding.run_id == run_id))}
        # The relay's legs end with the appraisal; remedial legs are opened after it.
        for gate in session.scalars(select(Gate).where(
                Gate.run_id == run_id, Gate.closed_at.is_(None), Gate.opened_at <= appraised_at)):
            gate.closed_at = now
        for item in appraisal.items:
            scores = {r.criterion: r.score for r in rows if r.item == item.code}
            if item.code in done or not split_criteria(scores, appraisal.pass_mark)[0]:
                continue
            facts = gather_facts(session, run, item, scores, appraisal.pass_mark,
                                 appraised_at, locale)
            rule = first_rule(catalog.rules.attribution, facts)
            cause = rule.cause if rule else "unattributed"
            responsible = ("unattributed" if rule is None else
                           next(m.owner for m in run.plan.modules if m.code == item.module)
                           if rule.responsible == Responsible.OWNER else rule.responsible.value)
            remedial = list(rule.remedial) if rule else []
            session.add(Finding(run_id=run_id, item=item.code, cause=cause,
                                responsible=responsible, evidence=facts.evidence,
                                remedial=remedial, created_at=now))
            repo.audit(session=session, actor="system", action="finding", object_type="run",
                       object_id=str(run_id), via="flow", now=now,
                       detail={"item": item.code, "cause": cause, "rule": cause,
                               "facts": {k: v if not isinstance(v, set) else sorted(v)
                                         for k, v in facts.__dict__.items()
                                         if k != "evidence"}})
        session.flush()
        verdict = verdict_of(session, run_id)
        hire = run.hire.name
        for person in (repo.department(session=session, code="hr").owner,
                       repo.person_by_email(session=session, email=catalog.boss.email)):
            if person is None:
                continue
            link = record_link(person_id=person.id, run_id=run_id)
            message = render("verdict", to=Recipient(person.name, person.email, person.locale),
                             hire=hire, outcome=verdict.outcome, link=link,
                             findings=readable_findings(verdict.findings, run.plan,
                                                        person.locale))
            repo.queue_message(session=session, key=f"verdict:{run_id}:{person.email}",
                               run_id=run_id, kind="verdict", message=message, now=now)
    return verdict


@task(cache_policy=NO_CACHE)
def publish_verdict(run_id: int) -> None:
    """The verdict on the run in Prefect, with the remedial training's progress (published
    again whenever it changes, until the run completes)."""
    locale = get_settings().default_locale
    with reading() as session:
        run = repo.get_run(session=session, run_id=run_id)
        verdict = verdict_of(session, run_id)
        markdown = verdict_markdown(run.hire.name, verdict, run.plan, locale,
                                    remedial_progress(session, run, locale))
        flow_run_id, key = run.flow_run_id, artifact_key(run, "verdict")
    if flow_run_id is not None:
        publish_markdown(flow_run_id=flow_run_id, key=key, markdown=markdown,
                         description=gettext(locale, "Probation verdict"))


