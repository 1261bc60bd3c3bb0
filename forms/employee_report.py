"""HR's employee pages: the list of employees (hires and the old system's), one employee's
report, and the report as XLSX and CSV downloads. Behind an HR session (`read`)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from forms.links import LinkProblem
from forms.pages import page
from forms.sessions import Staff, staff
from storage import repo
from tasks.env import reading
from tasks.i18n import N_, gettext
from tasks.reports.employee import EmployeeReport, employee_report, find_employees, report_key
from tasks.reports.export import csv_bytes, shown, tables, xlsx_bytes

router = APIRouter()

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_NAME = N_("Employee report %(name)s")


def employee_url(key: str) -> str:
    """The report page of the employee with this 工号 or address (any character may be in a
    工号: the key is quoted, `/` included)."""
    return f"/hr/employees/{quote(key, safe='@')}"


def _report(key: str, locale: str) -> EmployeeReport:
    try:
        return employee_report(key, locale)
    except LookupError:
        raise LinkProblem(404, "missing", locale) from None


@router.get("/hr/employees", response_class=HTMLResponse)
def hr_employees(s: Annotated[Staff, Depends(staff("read"))],
                 q: Annotated[str, Query(max_length=100)] = "",
                 number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
                 ) -> HTMLResponse:
    """Hires and imported employees, found by name, 工号 or address, a page at a time."""
    found = find_employees(q, number, s.locale)
    return page("hr_employees.html", s.locale, found=found, csrf=s.csrf,
                 links={e.key: employee_url(e.key) for e in found.entries},
                 earlier=f"/hr/employees?q={quote(found.query)}&page={found.page - 1}",
                 later=f"/hr/employees?q={quote(found.query)}&page={found.page + 1}")


def _download(report: EmployeeReport, content: bytes, suffix: str, media_type: str) -> Response:
    name = gettext(report.locale, FILE_NAME) % {"name": report.identity.name}
    # An ASCII name for old clients, the reader's own (RFC 5987) for the others.
    disposition = (f'attachment; filename="employee-report.{suffix}"; '
                   f"filename*=UTF-8''{quote(f'{name}.{suffix}', safe='')}")
    return Response(content, media_type=media_type, headers={
        "Content-Disposition": disposition, "Cache-Control": "no-store"})


@router.get("/hr/employees/{key:path}.xlsx")
def hr_employee_xlsx(key: str, s: Annotated[Staff, Depends(staff("read"))]) -> Response:
    report = _report(key, s.locale)
    return _download(report, xlsx_bytes(report), "xlsx", XLSX_TYPE)


@router.get("/hr/employees/{key:path}.csv")
def hr_employee_csv(key: str, s: Annotated[Staff, Depends(staff("read"))]) -> Response:
    report = _report(key, s.locale)
    return _download(report, csv_bytes(report), "csv", "text/csv; charset=utf-8")


@router.get("/hr/employees/{key:path}", response_class=HTMLResponse)
def hr_employee(key: str, s: Annotated[Staff, Depends(staff("read"))]) -> HTMLResponse:
    """One employee's report: training, appraisal, work results, rewards and penalties."""
    report = _report(key, s.locale)
    parts = tables(report)
    url = employee_url(report.identity.key)
    return page("hr_employee.html", s.locale, report=report, who=report.identity,
                 parts=[{"table": t, "rows": [[shown(v, c.kind, s.locale)
                                               for v, c in zip(row, t.columns, strict=True)]
                                              for row in t.rows]}
                        for t in parts if t.name != "employee"],
                 xlsx=f"{url}.xlsx", csv=f"{url}.csv", csrf=s.csrf)


@router.get("/hr/runs/{run_id}/employee")
def hr_run_employee(run_id: int,
                    s: Annotated[Staff, Depends(staff("read"))]) -> RedirectResponse:
    """From a run's page to its hire's report."""
    with reading() as session:
        try:
            email = repo.get_run(session=session, run_id=run_id).hire.email
        except LookupError:
            raise LinkProblem(404, "missing", s.locale) from None
    return RedirectResponse(employee_url(report_key(email)), status_code=303)
