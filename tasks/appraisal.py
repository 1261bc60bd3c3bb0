"""The probation appraisal: the appraiser's scores per item and criterion."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import func, select

from storage import clock, repo
from storage.models import AppraisalScore, Person, Run
from storage.settings import get_settings
from tasks.dates import end_of_day, local_date, local_day
from tasks.email import Recipient, render
from tasks.env import reading, transaction
from tasks.i18n import normalize_locale
from tasks.links import make_link
from tasks.permissions import check, run_target
from tasks.runs import resume_run

APPRAISAL_LINK_VALID_FOR = timedelta(days=30)
APPRAISAL_DUE_DAYS = 2  # the appraiser scores within two days of the appraisal day


class AlreadyAppraised(Exception):
    pass


class IncompleteAppraisal(ValueError):
    pass


def appraisal_link(*, appraiser_id: int, run_id: int) -> str:
    return make_link(path=f"/appraise/{run_id}", action="appraise", person_id=appraiser_id,
                     object_id=str(run_id), valid_for=APPRAISAL_LINK_VALID_FOR)


def appraiser_of(*, run_id: int) -> Person:
    """The manager of the department the hire's position belongs to."""
    with transaction() as session:
        run = repo.get_run(session=session, run_id=run_id)
        dept = repo.department(session=session, code=run.plan["position"]["department"])
        return dept.manager


def submit_appraisal(*, run_id: int, appraiser_id: int, scores: dict[str, dict[str, int]],
                     comments: dict[str, str], via: str,
                     link: repo.LinkUse | None = None) -> None:
    """Store every criterion's score (0-100) once, with comments; then resume the run.

    Only an appraiser of the hire's department may (NotPermitted, audited, for anyone else).
    """
    with reading() as session:
        target = run_target(session, run_id)
    if target is None:
        raise LookupError(f"no onboarding run {run_id}")
    check(action="appraise", target=target, via=via, person_id=appraiser_id)
    now = clock.now()
    with transaction() as session:
        if link is not None:
            repo.spend_link(session=session, link=link, now=now)
        run = repo.get_run(session=session, run_id=run_id)
        items = run.plan["position"]["appraisal"]["items"]
        expected = {(i["code"], c) for i in items for c in i["criteria"]}
        given = {(item, c) for item, crit in scores.items() for c in crit}
        if given != expected:
            missing = sorted(f"{i}.{c}" for i, c in expected - given)
            extra = sorted(f"{i}.{c}" for i, c in given - expected)
            raise IncompleteAppraisal(f"missing {missing}, unexpected {extra}")
        if session.scalar(select(func.count()).select_from(AppraisalScore)
                          .where(AppraisalScore.run_id == run_id)):
            raise AlreadyAppraised(str(run_id))
        appraiser = session.get_one(Person, appraiser_id)
        for item, criteria in scores.items():
            for criterion, score in criteria.items():
                session.add(AppraisalScore(run_id=run_id, item=item, criterion=criterion,
                                           score=score, comment=comments.get(item, ""),
                                           appraiser_id=appraiser_id, submitted_at=now))
        repo.close_gate(session=session, run_id=run_id, kind="appraisal", subject="appraisal",
                        now=now)
        run.resume_requested_at = now
        repo.audit(session=session, actor=appraiser.email, action="appraisal-submitted",
                   object_type="run", object_id=str(run_id), via=via, now=now,
                   detail={"scores": scores})
    resume_run(run_id)


def appraisal_day(run: Run) -> datetime:
    """The start of the position's appraisal day (day N after the hire's first day)."""
    day = run.start_date + timedelta(days=run.plan["position"]["appraisal"]["day"])
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(get_settings().timezone))


@task(cache_policy=NO_CACHE)
def request_appraisal(run_id: int) -> bool:
    """On the appraisal day, ask the appraiser (once); True once the scores are in."""
    now = clock.now()
    with transaction() as session:
        run = repo.get_run(session=session, run_id=run_id)
        if session.scalar(select(func.count()).select_from(AppraisalScore)
                          .where(AppraisalScore.run_id == run_id)):
            repo.close_gate(session=session, run_id=run_id, kind="appraisal",
                            subject="appraisal", now=now)
            return True
        opens = appraisal_day(run)
        if now < opens:
            run.wake_at = opens  # nothing to do until then; the sweep wakes the run
            return False
        dept = repo.department(session=session, code=run.plan["position"]["department"])
        due = end_of_day(local_date(opens) + timedelta(days=APPRAISAL_DUE_DAYS))
        _, created = repo.open_gate(session=session, run_id=run_id, kind="appraisal",
                                    subject="appraisal", waiting_on=dept.code, now=now, due=due)
        if created:
            manager = dept.manager
            lang = normalize_locale(manager.locale)
            message = render(
                "appraisal_request", to=Recipient(manager.name, manager.email, manager.locale),
                hire=run.hire.name, position=run.plan["position"]["title"][lang],
                due=local_day(due), link=appraisal_link(appraiser_id=manager.id, run_id=run_id))
            repo.queue_message(session=session, key=f"appraisal-request:{run_id}",
                               run_id=run_id, kind="appraisal-request", message=message,
                               now=now)
            repo.audit(session=session, actor="system", action="appraisal-requested",
                       object_type="run", object_id=str(run_id), via="flow", now=now,
                       detail={"appraiser": manager.email, "due": due.isoformat()})
        return False
