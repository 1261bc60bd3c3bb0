"""The dashboard page (`/hr/dashboard`): what HR and the boss read about the whole relay.

A GET form chooses the period, department and position; the figures come from
`tasks.reports.dashboard`, the charts are SVG drawn on the server and put in the page
(no script: the CSP forbids it, and none is needed).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from forms.pages import page
from forms.sessions import Staff, staff
from tasks.env import get_catalog
from tasks.i18n import gettext
from tasks.labels import names
from tasks.reports.charts import AMBER, GREEN, RED, bars, stacked_bars
from tasks.reports.dashboard import Dashboard, Filters, dashboard

router = APIRouter()


def _filters(typed: dict[str, str]) -> tuple[Filters, list[str]]:
    """The filters from what was typed, and what was wrong with it (kinds, for the page);
    a wrong value is replaced by its default."""
    default, errors = Filters.default(), []
    days = {"from": default.start, "to": default.end}
    for field in days:
        try:
            days[field] = date.fromisoformat(typed[field]) if typed[field] else days[field]
        except ValueError:
            errors.append(field)
    if days["from"] > days["to"]:
        days = {"from": default.start, "to": default.end}
        errors.append("order")
    catalog = get_catalog()
    department, position = typed["department"] or None, typed["position"] or None
    if department and department not in catalog.departments:
        department = None
        errors.append("department")
    if position and position not in catalog.positions:
        position = None
        errors.append("position")
    page = int(typed["page"]) if typed["page"].isdigit() else 1
    return Filters(days["from"], days["to"], department, position, max(1, page)), errors


def _charts(board: Dashboard, locale: str) -> dict[str, Markup | None]:
    """The page's charts; None for a chart that would show nothing (the page says so)."""
    def _(s: str) -> str:
        return gettext(locale, s)

    departments = [d.name for d in board.departments]
    rates = [None if p.pass_rate is None else 100 * p.pass_rate for p in board.positions]
    return {
        "legs": stacked_bars(locale, _("Legs owed by each department"), departments, [
            (_("On time"), GREEN, [d.on_time for d in board.departments]),
            (_("Late, then done"), AMBER, [d.late_done for d in board.departments]),
            (_("Late, not done"), RED, [d.not_done for d in board.departments])])
        if any(d.legs for d in board.departments) else None,
        "blocked": bars(locale, _("Working days hires were blocked"), departments,
                        [d.blocked_working_days for d in board.departments], colour=RED)
        if any(d.blocked_working_days for d in board.departments) else None,
        "pass_rate": bars(locale, _("Probation pass rate"), [p.name for p in board.positions],
                          rates, percent=True)
        if any(r is not None for r in rates) else None,
    }


@router.get("/hr/dashboard", response_class=HTMLResponse)
async def hr_dashboard(
    s: Annotated[Staff, Depends(staff("track"))],
    start: Annotated[str, Query(alias="from", max_length=20)] = "",
    end: Annotated[str, Query(alias="to", max_length=20)] = "",
    department: Annotated[str, Query(max_length=64)] = "",
    position: Annotated[str, Query(max_length=64)] = "",
    page_no: Annotated[str, Query(alias="page", max_length=6)] = "",
) -> HTMLResponse:
    """Each department's legs, each position's pass rate, each running hire's progress."""
    typed = {"from": start.strip(), "to": end.strip(), "department": department,
             "position": position, "page": page_no}
    filters, errors = _filters(typed)
    board = await run_in_threadpool(dashboard, filters, s.locale)
    charts = await run_in_threadpool(_charts, board, s.locale)
    n = names(s.locale)
    chosen: dict[str, Any] = {"from": filters.start.isoformat(), "to": filters.end.isoformat(),
                              "department": filters.department or "",
                              "position": filters.position or ""}

    def page_url(number: int) -> str:
        query = {k: v for k, v in {**chosen, "page": number}.items() if v}
        return "/hr/dashboard?" + urlencode(query)

    catalog = get_catalog()
    return page("hr_dashboard.html", s.locale, 422 if errors else 200, person=s.person,
                csrf=s.csrf, board=board, charts=charts, errors=errors,
                values={**chosen, **{k: typed[k] for k in ("from", "to") if k in errors}},
                departments=[(c, n.department(c)) for c in catalog.departments],
                positions=[(c, n.position(c)) for c in catalog.positions],
                previous=page_url(board.page - 1) if board.page > 1 else "",
                next=page_url(board.page + 1) if board.page < board.pages else "")
