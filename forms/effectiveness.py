"""HR's and the boss's page of training effectiveness: pick a module and a metric, read the
figures of `tasks.reports.effectiveness` and their caution (the same as `jieli report
effectiveness`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from forms.pages import page
from forms.sessions import Staff, staff
from tasks.env import get_catalog, reading
from tasks.i18n import N_, gettext
from tasks.labels import names
from tasks.reports.effectiveness import (
    Effectiveness,
    UnknownMetric,
    UnknownModule,
    effectiveness,
    known_metrics,
    modules_completed,
    shown_lift,
    shown_mean,
)

router = APIRouter()

# A module code or a metric name as typed into the address: longer is neither.
MAX_CHOICE_CHARS = 100


def _figures(found: Effectiveness, locale: str) -> dict[str, Any]:
    """The report as the page shows it: names, spoken numbers, one row per group."""
    rows = [(N_("Completed it (months after completing)"), found.completed_n,
             found.completed_mean),
            (N_("Did not complete it"), found.not_completed_n, found.not_completed_mean),
            (N_("Completers, before completing"), found.before_after_n, found.before_mean),
            (N_("Completers, after completing"), found.before_after_n, found.after_mean)]
    return {"module": names(locale).module(found.module), "metric": found.metric,
            "rows": [{"who": gettext(locale, who), "n": n, "mean": shown_mean(mean, locale)}
                     for who, n, mean in rows],
            "lift": shown_lift(found.lift_pct),
            "imported": found.completed_imported_n, "caution": found.caution}


@router.get("/hr/effectiveness", response_class=HTMLResponse)
def hr_effectiveness(s: Annotated[Staff, Depends(staff("read"))], module: str = "",
                     metric: str = "") -> HTMLResponse:
    """The form, and the figures of the module and metric chosen (at first: the first module
    someone completed and the first metric, when there are any)."""
    module, metric = module.strip()[:MAX_CHOICE_CHARS], metric.strip()[:MAX_CHOICE_CHARS]
    found: Effectiveness | None = None
    problem = ""
    with reading() as session:
        metrics = known_metrics(session=session)
        if not module and not metric:
            completed = modules_completed(session=session)
            module, metric = (completed[0], metrics[0]) if completed and metrics else ("", "")
        if module and metric:
            try:
                found = effectiveness(session=session, module=module, metric=metric,
                                      locale=s.locale)
            except UnknownModule:
                problem = "module"
            except UnknownMetric:
                problem = "metric"
        elif module or metric:
            problem = "both"
    n = names(s.locale)
    return page("hr_effectiveness.html", s.locale, 422 if problem else 200, csrf=s.csrf,
                modules=[{"code": code, "title": n.module(code)} for code in get_catalog().modules],
                metrics=metrics, chosen={"module": module, "metric": metric},
                problem=problem, found=_figures(found, s.locale) if found else None)
