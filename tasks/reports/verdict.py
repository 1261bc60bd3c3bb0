"""The probation verdict as people read it: the outcome, the findings with names instead of
codes, and the verdict's markdown on the Prefect run (with the remedial training's progress).
`tasks/attribution.py` decides the findings; this is how they are told."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from storage import repo
from storage.catalog import Plan
from storage.models import AppraisalScore, Finding, Run
from tasks.dates import spoken_day
from tasks.i18n import N_, gettext
from tasks.labels import names
from tasks.learning import Remedial
from tasks.markdown import md_text


def split_criteria(scores: dict[str, int], pass_mark: int) -> tuple[set[str], set[str]]:
    """(failed, passed) criteria; the pass mark itself passes."""
    failed = {c for c, s in scores.items() if s < pass_mark}
    return failed, set(scores) - failed


OUTCOMES = {"passed": N_("probation passed"), "failed": N_("probation failed"),
            "pending": N_("appraisal not yet submitted")}

VERDICT_COLUMNS = (N_("Item"), N_("Cause"), N_("Responsible"), N_("Evidence"), N_("Remedial"))

@dataclass(frozen=True)
class Verdict:
    outcome: str  # passed | failed | pending
    findings: list[dict[str, Any]]

def verdict_of(session: Session, run_id: int) -> Verdict:
    """The outcome from the scores (pending until submitted), with the findings so far."""
    scores = list(session.scalars(select(AppraisalScore).where(AppraisalScore.run_id == run_id)))
    if not scores:
        return Verdict("pending", [])
    pass_mark = repo.get_run(session=session, run_id=run_id) \
        .plan.position.appraisal.pass_mark
    return Verdict(_outcome({f"{s.item}.{s.criterion}": s.score for s in scores}, pass_mark),
                   [_finding(f) for f in session.scalars(
                       select(Finding).where(Finding.run_id == run_id).order_by(Finding.id))])


def verdicts_of(session: Session, runs: list[Run]) -> dict[int, Verdict]:
    """`verdict_of` of each run, by run id, in two queries whatever the number of runs."""
    ids = [r.id for r in runs]
    scores: dict[int, dict[str, int]] = defaultdict(dict)
    for s in session.scalars(select(AppraisalScore).where(AppraisalScore.run_id.in_(ids))):
        scores[s.run_id][f"{s.item}.{s.criterion}"] = s.score
    findings = findings_of(session, ids)
    return {r.id: verdict_from(scores[r.id], r.appraisal_pass_mark, findings[r.id])
            for r in runs}


def verdict_from(scores: dict[str, int], pass_mark: int,
                 findings: list[dict[str, Any]]) -> Verdict:
    """The verdict of a run's scores (`item.criterion` -> score) and its findings."""
    return Verdict(_outcome(scores, pass_mark), findings if scores else [])


_FINDINGS = (select(Finding).where(Finding.run_id.in_(bindparam("runs", expanding=True)))
             .order_by(Finding.id))


def findings_of(session: Session, run_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The findings of each of these runs, as the verdict has them, by run id."""
    findings: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for f in session.scalars(_FINDINGS, {"runs": run_ids}):
        findings[f.run_id].append(_finding(f))
    return findings


def _outcome(scores: dict[str, int], pass_mark: int) -> str:
    if not scores:
        return "pending"
    return "failed" if split_criteria(scores, pass_mark)[0] else "passed"


def _finding(f: Finding) -> dict[str, Any]:
    return {"item": f.item, "cause": f.cause, "responsible": f.responsible,
            "evidence": f.evidence, "remedial": f.remedial}


def readable_findings(findings: list[dict[str, Any]], plan: Plan,
                      locale: str) -> list[dict[str, Any]]:
    """Findings as a person reads them: the item's title, the cause, who answers for it and
    the remedial modules by name (the stored finding keeps the codes)."""
    n = names(locale)
    items = {i.code: i.title.get(n.lang) for i in plan.position.appraisal.items}
    return [{"item": items.get(f["item"], f["item"]), "cause": n.cause(f["cause"]),
             "responsible": n.party(f["responsible"]), "evidence": f["evidence"],
             "remedial": n.modules(f["remedial"])} for f in findings]

def verdict_markdown(hire: str, verdict: Verdict, plan: Plan, locale: str,
                     remedial: list[Remedial] | None = None) -> str:
    def _(s: str) -> str:
        return gettext(locale, s)

    title = _("Probation verdict: %(hire)s") % {"hire": md_text(hire)}
    lines = [f"# {title}", "", f"**{_(OUTCOMES[verdict.outcome])}**", ""]
    if verdict.findings:
        lines += ["| " + " | ".join(_(c) for c in VERDICT_COLUMNS) + " |",
                  "|---|---|---|---|---|"]
        for f in readable_findings(verdict.findings, plan, locale):
            lines.append(f"| {md_text(f['item'])} | {md_text(f['cause'])} "
                         f"| {md_text(f['responsible'])} "
                         f"| {'<br>'.join(md_text(e) for e in f['evidence'])} "
                         f"| {md_text(f['remedial'])} |")
    if remedial:
        n = names(locale)
        heading, module, state = _("Remedial training"), _("Module"), _("State")
        lines += ["", f"## {heading}", "", f"| {module} | {state} |", "|---|---|"]
        for r in remedial:
            state = n.study_state(r.status)
            if r.scores:
                state += " (" + ", ".join(map(str, r.scores)) + ")"
            elif r.due_at is not None:
                state += " · " + _("due %(day)s") % {"day": spoken_day(r.due_at, locale)}
            lines.append(f"| {md_text(r.title)} | {md_text(state)} |")
    return "\n".join(lines) + "\n"
