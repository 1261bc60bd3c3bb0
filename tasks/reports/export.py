"""An employee report as tables: on the page, in an XLSX workbook and in a CSV file.

`tables` turns the report into the tables the reader sees, with their headings in the reader's
language; the page, the workbook and the CSV all show these same tables, so they hold the same
numbers.

- XLSX (openpyxl): one sheet per table (the employee, training, appraisal, findings, work
  results, rewards and penalties; the appraisal's findings get their own sheet because a
  finding is per item and its evidence is several lines). Days and months are date cells shown
  as the language writes them, numbers are numbers.
- CSV: one file, UTF-8 with a BOM (Chinese Excel reads a BOM-less file as GB18030). Its first
  column names the part each row belongs to (培训记录, 工作业绩 …). Each part starts with its own
  heading row, whose first cell is the heading of that column (部分 / Part), and parts are
  separated by an empty line: filter the first column to get one part. Days are written
  2026-03-05 and months 2026-03, which Excel reads as dates.

Text from storage is data: a cell that a spreadsheet would take for a formula (it begins with
=, +, -, @, a tab or a carriage return) is written as text (XLSX) or after a ' (CSV, as OWASP
advises against CSV injection).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from babel.dates import format_date
from babel.numbers import format_decimal

from tasks.dates import spoken_day
from tasks.i18n import N_, gettext
from tasks.labels import names
from tasks.reports.employee import EmployeeReport


class CellKind(StrEnum):
    TEXT = "text"
    DAY = "day"
    MONTH = "month"  # a date, its first day
    NUMBER = "number"
    LINES = "lines"  # several lines of text


Cell = str | int | float | date | tuple[str, ...] | None


@dataclass(frozen=True)
class Column:
    heading: str
    kind: CellKind = CellKind.TEXT


@dataclass(frozen=True)
class Table:
    name: str  # employee | training | appraisal | findings | work | rewards
    title: str
    columns: tuple[Column, ...]
    rows: list[tuple[Cell, ...]]
    empty: str  # what the page says when there are no rows


TITLES = {"employee": N_("Employee"), "training": N_("Training record"),
          "appraisal": N_("Probation appraisal"), "findings": N_("Appraisal findings"),
          "work": N_("Work results"), "rewards": N_("Rewards and penalties")}
EMPTY = {"employee": "", "training": N_("No training recorded."),
         "appraisal": N_("No appraisal scored yet."), "findings": N_("No findings."),
         "work": N_("No work results imported."),
         "rewards": N_("No rewards or penalties imported.")}
T, D, M, N, L = (CellKind.TEXT, CellKind.DAY, CellKind.MONTH, CellKind.NUMBER, CellKind.LINES)
COLUMNS = {
    "employee": ((N_("Name"), T), (N_("Employee ID"), T), (N_("Email"), T),
                 (N_("Department"), T), (N_("Position"), T), (N_("First day"), D)),
    "training": ((N_("Module"), T), (N_("Source"), T), (N_("Materials handed off"), D),
                 (N_("Assigned on"), D), (N_("Due"), D), (N_("Completed on"), D),
                 (N_("Attempts"), N), (N_("Scores"), T), (N_("Best score"), N),
                 (N_("Pass mark"), N), (N_("Coaching hours"), N), (N_("Hand-in grade"), T),
                 (N_("Status"), T)),
    "appraisal": ((N_("Position"), T), (N_("Verdict"), T), (N_("Appraised on"), D),
                  (N_("Appraiser"), T), (N_("Item"), T), (N_("Criterion"), T),
                  (N_("Score"), N), (N_("Pass mark"), N), (N_("Result"), T),
                  (N_("Comments"), T)),
    "findings": ((N_("Position"), T), (N_("Item"), T), (N_("Cause"), T),
                 (N_("Responsible"), T), (N_("Evidence"), L), (N_("Remedial"), T)),
    "work": ((N_("Month"), M),),  # then one column per metric, named as the old system had it
    "rewards": ((N_("Date"), D), (N_("Kind"), T), (N_("Note"), T), (N_("Source"), T)),
}
JIELI = N_("Jieli onboarding")
IMPORTED_FROM = N_("Imported: %(file)s")
RESULTS = {True: N_("Passed"), False: N_("Below the pass mark")}
SECTION = N_("Part")
# Date formats of the workbook's cells: as the reader's language writes days and months.
XLSX_FORMATS = {"zh_CN": {D: 'yyyy"年"m"月"d"日"', M: 'yyyy"年"m"月"'},
                "en": {D: "d mmm yyyy", M: "mmm yyyy"}}
MONTH_PATTERNS = {"zh_CN": "y年M月", "en": "MMM y"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def tables(report: EmployeeReport) -> list[Table]:
    """The report's parts as tables, headings and words in the report's language."""
    lang = report.locale
    n = names(lang)

    def _(message: str) -> str:
        return gettext(lang, message)

    def source(file: str) -> str:
        return _(IMPORTED_FROM) % {"file": file} if file else _(JIELI)

    who = report.identity
    rows: dict[str, list[tuple[Cell, ...]]] = {
        "employee": [(who.name, n.join(who.employee_ids), who.email, who.department,
                      who.position, who.first_day)],
        "training": [(s.module, source(s.source), s.version, s.assigned, s.due, s.completed,
                      s.attempts, n.join(map(str, s.scores)), s.best, s.pass_mark,
                      s.coaching_hours, n.join(f"{item} {score}" for item, score in s.hand_in),
                      s.state)
                     for s in report.training],
        "appraisal": [(a.position, a.verdict, a.appraised, a.appraiser, line.item,
                       line.criterion, line.score, a.pass_mark, _(RESULTS[line.passed]),
                       line.comment) for a in report.appraisals for line in a.lines],
        "findings": [(a.position, f.item, f.cause, f.responsible, f.evidence, f.remedial)
                     for a in report.appraisals for f in a.findings],
        "work": [(m.month, *m.values) for m in report.work.months],
        "rewards": [(r.day, r.kind_name, r.note, source(r.source)) for r in report.rewards],
    }
    found = []
    for name, columns in COLUMNS.items():
        heads = tuple(Column(_(heading), kind) for heading, kind in columns)
        if name == "work":
            heads += tuple(Column(metric, N) for metric in report.work.metrics)
        found.append(Table(name, _(TITLES[name]), heads, rows[name],
                           _(EMPTY[name]) if EMPTY[name] else ""))
    return found


# --- on the page ------------------------------------------------------------------------------


def spoken_month(month: date, locale: str) -> str:
    """A month as people write it: 2026年3月, Mar 2026."""
    lang = names(locale).lang
    return format_date(month, MONTH_PATTERNS[lang], locale=lang)


def shown(value: Cell, kind: CellKind, locale: str) -> str | tuple[str, ...]:
    """A cell as the page shows it: days and months as people write them, numbers grouped."""
    lang = names(locale).lang
    if value is None or value == "":
        return ""
    if isinstance(value, tuple):
        return value
    if isinstance(value, date):
        return spoken_month(value, lang) if kind == CellKind.MONTH else spoken_day(value, lang)
    if isinstance(value, int | float):
        return format_decimal(value, locale=lang)
    return value


# --- files ------------------------------------------------------------------------------------


def _number(value: int | float) -> int | float:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def xlsx_bytes(report: EmployeeReport) -> bytes:
    """The report as an XLSX workbook: one sheet per table, headings in bold and frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    formats = XLSX_FORMATS[report.locale]
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    workbook.properties.title = report.identity.name
    workbook.properties.creator = "Jieli"
    for table in tables(report):
        sheet = workbook.create_sheet(table.title[:31])
        widths = [_width(c.heading) for c in table.columns]
        for col, column in enumerate(table.columns, start=1):
            cell = sheet.cell(row=1, column=col, value=column.heading)
            cell.data_type, cell.font = "s", Font(bold=True)  # a metric's name is no formula
        for r, row in enumerate(table.rows, start=2):
            for col, (value, column) in enumerate(zip(row, table.columns, strict=True),
                                                  start=1):
                if isinstance(value, tuple):
                    value = "\n".join(value)
                elif isinstance(value, int | float):
                    value = _number(value)
                cell = sheet.cell(row=r, column=col, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # text from storage, never a formula
                    widths[col - 1] = max(widths[col - 1], _width(value))
                if column.kind in formats:
                    cell.number_format = formats[column.kind]
                    widths[col - 1] = max(widths[col - 1], 14)
                if column.kind == CellKind.LINES:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
        for col, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(col)].width = min(width + 2, 60)
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _width(text: str) -> int:
    """Columns a text takes in a spreadsheet: a Chinese character takes two."""
    longest = max(text.split("\n"), key=len, default="")
    return sum(2 if ord(c) > 0x2e7f else 1 for c in longest)


def _csv_cell(value: Cell, kind: CellKind) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, tuple):
        value = "\n".join(value)
    if isinstance(value, date):
        return value.isoformat()[:7] if kind == CellKind.MONTH else value.isoformat()
    if isinstance(value, int | float):
        return _number(value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_bytes(report: EmployeeReport) -> bytes:
    """The report as one CSV file (UTF-8 with a BOM): a part column, then each part's own
    heading row and rows, parts separated by an empty line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    part = gettext(report.locale, SECTION)
    for i, table in enumerate(tables(report)):
        if i:
            writer.writerow([])
        writer.writerow([part, *(_csv_cell(c.heading, CellKind.TEXT) for c in table.columns)])
        for row in table.rows:
            writer.writerow([table.title, *(_csv_cell(value, column.kind)
                                            for value, column in zip(row, table.columns,
                                                                     strict=True))])
    return out.getvalue().encode("utf-8-sig")
