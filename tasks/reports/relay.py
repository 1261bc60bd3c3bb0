"""The relay as people read it: who the run waits on, since when and until when, each leg's
state, the sentences and tables of the run's artifacts and log lines. Computed from storage;
`tasks/status.py` publishes it on the Prefect run, the HR pages and the CLI show it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import repo
from storage.models import (
    AppraisalScore,
    AssignmentStatus,
    Delivery,
    Gate,
    GateKind,
    QuizAttempt,
    Run,
    RunStatus,
)
from storage.settings import get_settings
from tasks.dates import days_overdue, spoken_day
from tasks.i18n import N_, gettext, normalize_locale
from tasks.labels import names
from tasks.learning import remedial_codes, remedial_progress
from tasks.markdown import md_text
from tasks.practice import PracticeView, graders, practice_view_in
from tasks.reports.verdict import Verdict

# The verdict as the run's final state name and in its name: short words a boss reads.
VERDICT_NAMES = {"passed": N_("Passed"), "failed": N_("Failed")}

@dataclass(frozen=True)
class Blocker:
    waiting_on: str  # a department code, or "hire"
    who: str  # the person who must act
    kind: str  # handoff | study | appraisal
    module: str
    module_title: str
    since: datetime
    due_at: datetime | None
    days_overdue: int

@dataclass(frozen=True)
class RunView:
    run_id: int
    complete: bool
    blockers: list[Blocker]
    legs_done: int
    legs_total: int

    @property
    def waiting_on(self) -> list[str]:
        return sorted({b.waiting_on for b in self.blockers})

def who_owes(session: Session, run: Run, gate: Gate, locale: str) -> str:
    """The person who must act on an open gate, by name: the hire; the appraiser (the
    department's manager); its reviewers, for grading; else the department's owner."""
    if gate.waiting_on == "hire":
        return run.hire.name
    if gate.kind == GateKind.APPRAISAL:
        return repo.department(session=session, code=gate.waiting_on).manager.name
    if gate.kind == GateKind.REVIEW:
        return names(locale).join(p.name for p in graders(session, gate.waiting_on))
    return repo.department(session=session, code=gate.waiting_on).owner.name


def view_run(*, session: Session, run: Run, now: datetime, locale: str) -> RunView:
    """The run's open gates as blockers, and how many legs of the relay are done."""
    lang = normalize_locale(locale)
    titles = {m.code: m.title.get(lang) for m in run.plan.modules}
    blockers = []
    for gate in repo.open_gates(session=session, run_id=run.id):
        who = who_owes(session, run, gate, locale)
        blockers.append(Blocker(
            waiting_on=gate.waiting_on, who=who, kind=gate.kind, module=gate.subject,
            module_title=titles.get(gate.subject, gate.subject), since=gate.opened_at,
            due_at=gate.due_at, days_overdue=days_overdue(gate.due_at, now)))
    assignments = repo.assignments_of(session=session, run_id=run.id)
    modules = [m.code for m in run.plan.modules] + remedial_codes(session, run.id)
    # A module's materials are there when any hand-off of them is: one query for all.
    handed = set(session.scalars(select(Delivery.module_code).distinct()
                                 .where(Delivery.module_code.in_(modules))))
    delivered = sum(1 for c in modules if c in handed)
    # A module is finished when its quiz was passed or every attempt was used.
    finished = sum(1 for c in modules
                   if c in assignments and assignments[c].status != AssignmentStatus.ASSIGNED)
    # A practice leg is done when its gate closed with the leg met (coaching confirmed, the
    # assignment graded): the legs of modules with practice, as far as they were opened.
    practice_total = sum(bool(m.practice.coaching) + bool(m.practice.assignment)
                         for m in run.plan.modules if m.practice is not None)
    practice_done = 0
    for m in run.plan.modules:
        if m.practice is None or m.code not in assignments:
            continue
        view = practice_view_in(session, run, m.code)
        coaching = m.practice.coaching
        practice_done += bool(coaching and view.confirmed >= coaching.sessions)
        practice_done += bool(m.practice.assignment and view.latest
                              and view.latest.passed is not None)
    return RunView(run_id=run.id, complete=run.status == RunStatus.COMPLETED,
                   blockers=blockers, legs_done=delivered + finished + practice_done,
                   legs_total=2 * len(modules) + practice_total)

# What a blocked leg waits for, as a sentence (pages, log lines) and as a table cell.
WAITING_SENTENCES = {
    "handoff": N_("Waiting for %(who)s (%(party)s) to hand off the materials of %(modules)s"),
    "study": N_("Waiting for %(who)s (new hire) to study %(modules)s and pass the quiz"),
    "coaching": N_("Waiting for %(who)s (%(party)s) to give the coaching sessions of "
                   "%(modules)s"),
    "submit": N_("Waiting for %(who)s (new hire) to hand in the assignment of %(modules)s"),
    "review": N_("Waiting for %(who)s (%(party)s) to grade the assignment of %(modules)s"),
    "appraisal": N_("Waiting for %(who)s (%(party)s) to score the probation appraisal"),
}

TASKS = {"handoff": N_("Hand off the materials of %(modules)s"),
         "study": N_("Study %(modules)s and pass the quiz"),
         "coaching": N_("Give the coaching sessions of %(modules)s"),
         "submit": N_("Hand in the assignment of %(modules)s"),
         "review": N_("Grade the assignment of %(modules)s"),
         "appraisal": N_("Score the probation appraisal")}

COLUMNS = [N_("Who"), N_("To do"), N_("Waiting since"), N_("Due"), N_("Days overdue")]

def quoted_modules(titles: list[str], locale: str) -> str:
    """「客户沟通」、「方案写作」 / "Customer communication", "Proposal writing"."""
    quoted = [gettext(locale, '"%(module)s"') % {"module": t} for t in titles]
    return names(locale).join(quoted)

def waiting_for(blockers: list[Blocker], locale: str, cell: bool = False) -> str:
    """What one person's blocked legs of one kind wait for: who does what (the legs of a
    group share `who` and `kind`). As a sentence, or, with `cell`, as a table's "to do"."""
    first = blockers[0]
    modules = quoted_modules([b.module_title for b in blockers], locale)
    template = (TASKS if cell else WAITING_SENTENCES)[first.kind]
    return gettext(locale, template) % {"who": first.who, "modules": modules,
                                        "party": names(locale).party(first.waiting_on)}

def blocking_markdown(view: RunView, hire: str, locale: str) -> str:
    def _(s: str) -> str:
        return gettext(locale, s)

    title = _("Who the run waits on: %(hire)s") % {"hire": md_text(hire)}
    if not view.blockers:
        nobody = _("Nobody: the run is not waiting.")
        return f"# {title}\n\n{nobody}\n"
    lines = [f"# {title}", "", "| " + " | ".join(_(c) for c in COLUMNS) + " |",
             "|---|---|---|---|---|"]
    for b in view.blockers:
        due = spoken_day(b.due_at, locale) if b.due_at else "—"
        who, task = names(locale).member(b.waiting_on, b.who), waiting_for([b], locale, True)
        lines.append(f"| {md_text(who)} | {md_text(task)} | {spoken_day(b.since, locale)} "
                     f"| {due} | {b.days_overdue} |")
    return "\n".join(lines) + "\n"

def verdict_name(outcome: str, locale: str | None = None) -> str:
    """通过 / 未通过 (Passed / Failed) in the installation's language: a final state's name."""
    return gettext(locale or get_settings().default_locale, VERDICT_NAMES.get(outcome, outcome))

@dataclass(frozen=True)
class LegRow:
    section: str  # handoff | study | appraisal
    title: str
    who: str
    state: str

    def markdown(self) -> str:
        who = f" | {self.who}" if self.who else ""
        return f"| {self.title}{who} | {self.state} |"

SECTIONS = {"handoff": (N_("Materials hand-off"), (N_("Module"), N_("Owner"), N_("State"))),
            "study": (N_("Study and quiz"), (N_("Module"), N_("State"))),
            "practice": (N_("Practice"), (N_("Module"), N_("Leg"), N_("State"))),
            "appraisal": (N_("Probation appraisal"), (N_("Appraiser"), N_("State"))),
            "remedial": (N_("Remedial training"), (N_("Module"), N_("State")))}

def leg_rows(*, session: Session, run: Run, now: datetime, locale: str) -> list[LegRow]:
    """Every leg of the run with its state, as a person reads it."""
    def _(s: str) -> str:
        return gettext(locale, s)

    lang = normalize_locale(locale)
    handoffs = repo.handoffs_of(session=session, run_id=run.id)
    assignments = repo.assignments_of(session=session, run_id=run.id)
    rows: list[LegRow] = []
    study: list[LegRow] = []
    practice: list[LegRow] = []
    for m in run.plan.modules:
        code, title = m.code, m.title.get(lang)
        department = repo.department(session=session, code=m.owner)
        owner = names(locale).member(department.code, department.owner.name)
        delivery = repo.latest_delivery(session=session, module_code=code)
        handoff = handoffs.get(code)
        if delivery is not None:
            state = _("handed off %(day)s") % {"day": spoken_day(delivery.delivered_at,
                                                                   locale)}
        elif handoff is not None:
            state = _due_state(handoff.due_at, now, locale)
        else:
            state = _("not requested yet")
        rows.append(LegRow("handoff", title, owner, state))
        assignment = assignments.get(code)
        if assignment is None:
            state = _("waits for the materials") if delivery is None else _("not assigned yet")
        else:
            scores = [a.score for a in session.scalars(
                select(QuizAttempt).where(QuizAttempt.assignment_id == assignment.id)
                .order_by(QuizAttempt.attempt_no))]
            if assignment.status == AssignmentStatus.PASSED:
                state = _("passed with %(score)s") % {"score": max(scores, default=0)}
            elif assignment.status == AssignmentStatus.FAILED:
                state = _("failed: every attempt used (%(scores)s)") % {
                    "scores": ", ".join(map(str, scores))}
            else:
                state = _due_state(assignment.due_at, now, locale)
        study.append(LegRow("study", title, "", state))
        if m.practice is not None and assignment is not None:
            practice += practice_rows(practice_view_in(session, run, code), now, locale)
    appraised = session.scalar(select(AppraisalScore.submitted_at).where(
        AppraisalScore.run_id == run.id).order_by(AppraisalScore.submitted_at.desc()).limit(1))
    appraisal = next((g for g in repo.open_gates(session=session, run_id=run.id)
                      if g.kind == GateKind.APPRAISAL), None)
    appraiser = repo.department(session=session,
                                code=run.plan.position.department).manager.name
    if appraised is not None:
        state = _("submitted %(day)s") % {"day": spoken_day(appraised, locale)}
    elif appraisal is not None:
        state = _due_state(appraisal.due_at, now, locale)
    else:
        state = _("not due yet")
    remedial = [LegRow("remedial", r.title, "", names(locale).study_state(r.status)
                       + (" (" + ", ".join(map(str, r.scores)) + ")" if r.scores else ""))
                for r in remedial_progress(session, run, locale)]
    return rows + study + practice + [LegRow("appraisal", appraiser, "", state)] + remedial

def practice_rows(view: PracticeView, now: datetime, locale: str) -> list[LegRow]:
    """The practice legs of one module: coaching sessions confirmed, the assignment's state."""
    def _(s: str) -> str:
        return gettext(locale, s)

    title = view.module.title.get(normalize_locale(locale))
    practice = view.module.practice
    rows: list[LegRow] = []
    if practice is None:
        return rows
    if practice.coaching is not None:
        state = _("%(confirmed)s of %(owed)s session(s) confirmed") % {
            "confirmed": view.confirmed, "owed": practice.coaching.sessions}
        if view.confirmed < practice.coaching.sessions and view.closed_at is None:
            state += " · " + _due_state(view.coaching_due, now, locale)
        rows.append(LegRow("practice", title, _("Coaching"), state))
    if practice.assignment is not None:
        latest = view.latest
        if latest is None:
            state = _("not handed in") if view.closed_at else \
                _due_state(view.submit_due, now, locale)
        elif latest.passed is not None:
            state = (_("#%(number)s passed (%(scores)s)") if latest.passed
                     else _("#%(number)s below the pass mark (%(scores)s)")) % {
                "number": latest.number,
                "scores": ", ".join(str(v) for v in latest.scores.values())}
        else:
            state = _("#%(number)s handed in %(day)s, not graded yet") % {
                "number": latest.number, "day": spoken_day(latest.submitted_at, locale)}
            if view.review_due is not None:
                state += " · " + _due_state(view.review_due, now, locale)
        rows.append(LegRow("practice", title, practice.assignment.title.get(
            normalize_locale(locale)), state))
    return rows

def _due_state(due: datetime | None, now: datetime, locale: str) -> str:
    if due is None:
        return gettext(locale, "waiting")
    late = days_overdue(due, now)
    if late:
        return gettext(locale, "%(days)s day(s) overdue (due %(day)s)") % {
            "days": late, "day": spoken_day(due, locale)}
    return gettext(locale, "due %(day)s") % {"day": spoken_day(due, locale)}

def legs_markdown(rows: list[LegRow], hire: str, locale: str) -> str:
    """The legs in one short table per kind, so that it fits a phone's screen."""
    def _(s: str) -> str:
        return gettext(locale, s)

    # Outside the f-string, where Babel's extractor finds it.
    title = _("Relay legs: %(hire)s") % {"hire": md_text(hire)}
    lines = [f"# {title}"]
    for section, (heading, columns) in SECTIONS.items():
        lines += ["", f"## {_(heading)}", "",
                  "| " + " | ".join(_(c) for c in columns) + " |",
                  "|" + "---|" * len(columns)]
        lines += [r.markdown() for r in rows if r.section == section]
    return "\n".join(lines) + "\n"

def changed_legs(rows: list[LegRow], before: str | None) -> list[LegRow]:
    """The legs whose line is not in the previous legs artifact (all of them at first)."""
    old = set((before or "").splitlines())
    return [r for r in rows if r.markdown() not in old]

def waiting_name(view: RunView, locale: str) -> str:
    """The end of a waiting run's name: who it waits on, by name (待新员工、市场部处理)."""
    return gettext(locale, "waiting on %(parties)s") % {"parties": names(locale).join(
        names(locale).party(w) for w in view.waiting_on)}

def responsible_parties(verdict: Verdict) -> list[str]:
    """Who answers for the failed items (departments, `hr`, `hire`), once each."""
    return sorted({f["responsible"] for f in verdict.findings
                   if f["responsible"] != "unattributed"})

def pass_story(number: int, view: RunView, changed: list[LegRow], verdict: Verdict | None,
               locale: str) -> str:
    """One log line for a pass, in the installation's language: what changed, who is next."""
    def _(s: str) -> str:
        return gettext(locale, s)

    en = normalize_locale(locale) == "en"
    sep, comma = ("; ", ", ") if en else ("；", "、")
    parts = []
    if changed:
        parts.append(_("changed: %(legs)s") % {"legs": comma.join(
            f"{r.title} {_(SECTIONS[r.section][0])} {r.state}" for r in changed)})
    else:
        parts.append(_("nothing changed"))
    if verdict is not None and verdict.outcome in VERDICT_NAMES:
        parts.append(_("verdict: %(verdict)s") % {"verdict": verdict_name(verdict.outcome,
                                                                           locale)})
        parts += [_("responsible: %(who)s") % {"who": names(locale).party(p)}
                  for p in responsible_parties(verdict)]
    if view.blockers:
        # One phrase per person and kind of leg: a hire with six quizzes is one line, not six.
        groups: dict[tuple[str, str], list[Blocker]] = {}
        for b in view.blockers:
            groups.setdefault((b.who, b.kind), []).append(b)
        for blockers in groups.values():
            dues = [b.due_at for b in blockers if b.due_at is not None]
            parts.append(_("%(waiting)s, due %(due)s") % {
                "waiting": waiting_for(blockers, locale),
                "due": spoken_day(min(dues), locale) if dues else "—"})
    elif verdict is None or verdict.outcome not in VERDICT_NAMES:
        parts.append(_("nobody is waited on"))
    # Outside the f-string: Babel's extractor does not look inside one.
    heading = _("Pass %(number)s") % {"number": number}
    return heading + (": " if en else "：") + sep.join(parts)
