"""Moving in: the old system's spreadsheets read, checked row by row and stored (`jieli import`).

Four kinds of file: employees, training history, monthly metrics, rewards and penalties, as
CSV or XLSX with Chinese or English column names. Every row is checked (required fields,
addresses, the catalog's departments, positions and modules by code or by name, dates as
Excel writes them); a problem is told as `line N: column: what is wrong`, N being the file's
line (the heading is line 1). Nothing is stored while a row is bad unless the caller skips bad
rows. Rows are keyed by the old system's own identifiers (工号, and the module and day, the
month and metric, or the whole reward), so importing a file again adds nothing; a row whose
key is stored with other values updates it, and is counted as updated.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from storage import clock, repo
from storage.catalog import Catalog
from storage.models import (
    Base,
    ImportedEmployee,
    ImportedMetric,
    ImportedReward,
    ImportedTraining,
)
from storage.names import BIDI_CONTROLS, NAME_MAX, InvalidPerson, check_email, check_name
from tasks.env import get_catalog, reading, transaction
from tasks.i18n import N_, gettext, normalize_locale
from tasks.import_columns import COLUMNS, KEYS, OPTIONAL, Kind
from tasks.labels import names
from tasks.permissions import Target, check

# Chinese Excel saves CSV as UTF-8 (with a BOM, "CSV UTF-8") or as GB18030 ("CSV", the ANSI
# code page of a Chinese Windows); no charset guessing (chardet) is needed for two known
# encodings. UTF-8 goes first: it is strict, so a GB18030 file with any Chinese in it fails
# to decode as UTF-8, while GB18030 would decode almost any bytes into something.
ENCODINGS = ("utf-8-sig", "gb18030")
# How many rows pass between two progress reports.
PROGRESS_EVERY = 250


REWARD_KINDS = {"reward": "reward", "奖励": "reward", "奖": "reward", "penalty": "penalty",
                "惩罚": "penalty", "处罚": "penalty", "罚": "penalty"}

Cell = str | int | float | date | None


class UnreadableFile(ValueError):
    """A file that is neither an XLSX workbook nor a CSV in UTF-8 or GB18030."""

    def __init__(self, message: str, **params: object):
        super().__init__(message % params)
        self.message, self.params = message, params

    def told(self, locale: str) -> str:
        return gettext(locale, self.message) % self.params


@dataclass(frozen=True)
class Problem:
    """What is wrong with one cell (or a missing column, on line 1)."""

    line: int
    column: str
    message: str

    def told(self, locale: str) -> str:
        return shown(gettext(locale, "line %(line)s: %(column)s: %(problem)s") % {
            "line": self.line, "column": self.column, "problem": self.message})


def shown(text: str) -> str:
    """Text from a file as a terminal may print it: control characters (an escape sequence
    would drive the terminal) and bidi overrides written as \\uXXXX."""
    return "".join(c if c.isprintable() and c not in BIDI_CONTROLS else f"\\u{ord(c):04x}"
                   for c in text)


@dataclass
class ImportReport:
    """What an import found and did (or, in a dry run, would do)."""

    kind: Kind
    file: str
    rows: int = 0  # data rows read (blank rows are not counted)
    problems: list[Problem] = field(default_factory=list)
    bad_lines: list[int] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    written: bool = False
    columns_missing: bool = False  # no row could be read, --skip-bad or not


# A progress report: phase (a msgid), rows done, rows in all.
Progress = Callable[[str, int, int], None]


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sheet:
    headings: list[str]
    rows: list[tuple[int, list[Cell]]]  # (the file's line, its cells), blank rows left out
    heading_line: int = 1


# Rows a sheet may have above its headings: a title (某某公司员工花名册), an export date.
TITLE_ROWS = 5


def read_sheet(path: Path, kind: Kind) -> Sheet:
    """The rows of a CSV or XLSX file with their line numbers, below the row naming the
    kind's columns; UnreadableFile when the file is neither."""
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        return _sheet(_read_xlsx(path), kind)
    return _sheet(_read_csv(path.read_bytes()), kind)


def decode(data: bytes) -> str:
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFile(N_("the file is neither UTF-8 nor GB18030 text: save it from Excel "
                            "as “CSV UTF-8” or as XLSX"))


def _read_csv(data: bytes) -> list[tuple[int, list[Cell]]]:
    reader = csv.reader(io.StringIO(decode(data), newline=""))
    lines: list[tuple[int, list[Cell]]] = []
    while True:
        line = reader.line_num + 1  # where the next record begins (a quoted cell may span lines)
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise UnreadableFile(N_("line %(line)s: %(error)s"), line=line, error=exc) from None
        lines.append((line, list(cells)))
    return lines


def _read_xlsx(path: Path) -> list[tuple[int, list[Cell]]]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise UnreadableFile(N_("not an XLSX workbook (%(error)s): save it from Excel as XLSX "
                                "or as CSV"), error=exc) from None
    try:
        return [(line, [_cell(v) for v in values]) for line, values in
                enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1)]
    finally:
        workbook.close()


def _sheet(lines: list[tuple[int, list[Cell]]], kind: Kind) -> Sheet:
    """The columns are named by the first row that names all the kind's required ones (among
    the first TITLE_ROWS rows), else by the first row; blank rows are left out."""
    filled = [(line, cells) for line, cells in lines if any(_text(c) for c in cells)]
    if not filled:
        return Sheet([], [])
    at = next((i for i, (_line, cells) in enumerate(filled[:TITLE_ROWS])
               if not match_columns(kind, [_text(c) for c in cells], "en")[2]), 0)
    return Sheet([_text(c) for c in filled[at][1]], filled[at + 1:], filled[at][0])


def _cell(value: Any) -> Cell:
    if isinstance(value, datetime):
        return value.date()
    if value is None or isinstance(value, str | int | float | date):
        return value
    return str(value)


# --- checking -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Lookup:
    """Codes by code or by name (either language), and the employees already imported."""

    departments: dict[str, str]
    positions: dict[str, str]
    modules: dict[str, str]
    known: dict[str, str]  # department/position/module -> the names to list when unknown
    employees: frozenset[str]
    locale: str

    @classmethod
    def of(cls, catalog: Catalog, employees: Iterable[str], locale: str) -> Lookup:
        def codes(things: Iterable[Any], title: Callable[[Any], Any]) -> dict[str, str]:
            found: dict[str, str] = {}
            for thing in things:
                for word in (thing.code, title(thing).zh_CN, title(thing).en):
                    found[word.casefold()] = thing.code
            return found

        lang = normalize_locale(locale)
        say = names(lang, catalog)
        known = {"department": say.join(map(say.department, catalog.departments)),
                 "position": say.join(map(say.position, catalog.positions)),
                 "module": say.modules(catalog.modules)}
        return cls(codes(catalog.departments.values(), lambda d: d.name),
                   codes(catalog.positions.values(), lambda p: p.title),
                   codes(catalog.modules.values(), lambda m: m.title),
                   known, frozenset(employees), lang)


def _lookup(info: ValidationInfo) -> Lookup:
    return (info.context or {})["lookup"]


def _wrong(info: ValidationInfo, message: str, **params: Any) -> ValueError:
    # A value is quoted back as the file has it, cut short: a cell may hold a whole letter.
    cut = {k: v[:60] + "…" if k == "value" and len(v) > 60 else v for k, v in params.items()}
    return ValueError(gettext(_lookup(info).locale, message) % cut)


def _text(value: Cell) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 工号 1001 typed in Excel comes back as 1001.0
    return "" if value is None else str(value).strip()


def _required(value: Cell, info: ValidationInfo, longest: int = 100) -> str:
    text = _text(value)
    if not text:
        raise _wrong(info, N_("empty: fill it in"))
    if len(text) > longest:
        raise _wrong(info, N_("%(count)s characters: at most %(most)s"), count=len(text),
                     most=longest)
    return text


DAY = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                 r"(?:\s+0{1,2}:00(?::00)?)?$")
MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")


def _day(value: Cell, info: ValidationInfo) -> date:
    if isinstance(value, date):
        return value
    text = _required(value, info)
    found = DAY.match(text)
    try:
        if found:
            return date(*map(int, found.groups()))
    except ValueError:
        pass
    raise _wrong(info, N_("%(value)s is not a date like 2026-03-05 or 2026/3/5"), value=text)


def _code(value: Cell, info: ValidationInfo, what: str, codes: dict[str, str],
          message: str) -> str:
    text = _required(value, info)
    code = codes.get(text.casefold())
    if code is None:
        raise _wrong(info, message, value=text, known=_lookup(info).known[what])
    return code


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True)

    employee_id: str

    @field_validator("employee_id", mode="before")
    @classmethod
    def _employee_id(cls, value: Cell, info: ValidationInfo) -> str:
        return _required(value, info, 64)


class _OfEmployee(_Row):
    """A row about an employee who must be imported already."""

    @field_validator("employee_id", mode="after")
    @classmethod
    def _imported(cls, value: str, info: ValidationInfo) -> str:
        if value not in _lookup(info).employees:
            raise _wrong(info, N_("%(value)s is not an imported employee: import the "
                                  "employees file first"), value=value)
        return value


class EmployeeRow(_Row):
    name: str
    email: str
    department: str
    position: str
    hired_on: date

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Cell, info: ValidationInfo) -> str:
        text = _required(value, info, NAME_MAX)
        try:
            return check_name(text)
        except InvalidPerson:
            raise _wrong(info, N_("holds a line break or a control character: type the name "
                                  "on one line")) from None

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, value: Cell, info: ValidationInfo) -> str:
        text = _required(value, info, 254)
        try:
            return check_email(text)
        except InvalidPerson:
            raise _wrong(info, N_("%(value)s is not an email address like "
                                  "zhang.wei@example.com"), value=text) from None

    @field_validator("department", mode="before")
    @classmethod
    def _department(cls, value: Cell, info: ValidationInfo) -> str:
        return _code(value, info, "department", _lookup(info).departments,
                     N_("%(value)s is not a department of the catalog (%(known)s)"))

    @field_validator("position", mode="before")
    @classmethod
    def _position(cls, value: Cell, info: ValidationInfo) -> str:
        return _code(value, info, "position", _lookup(info).positions,
                     N_("%(value)s is not a position of the catalog (%(known)s)"))

    @field_validator("hired_on", mode="before")
    @classmethod
    def _hired_on(cls, value: Cell, info: ValidationInfo) -> date:
        return _day(value, info)


class HistoryRow(_OfEmployee):
    module: str
    completed_on: date
    score: int | None

    @field_validator("module", mode="before")
    @classmethod
    def _module(cls, value: Cell, info: ValidationInfo) -> str:
        return _code(value, info, "module", _lookup(info).modules,
                     N_("%(value)s is not a module of the catalog (%(known)s)"))

    @field_validator("completed_on", mode="before")
    @classmethod
    def _completed_on(cls, value: Cell, info: ValidationInfo) -> date:
        return _day(value, info)

    @field_validator("score", mode="before")
    @classmethod
    def _score(cls, value: Cell, info: ValidationInfo) -> int | None:
        text = _text(value)
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not (number.is_integer() and 0 <= number <= 100):
            raise _wrong(info, N_("%(value)s is not a score: a whole number from 0 to 100"),
                         value=text)
        return int(number)


class MetricRow(_OfEmployee):
    month: str
    metric: str
    value: float

    @field_validator("month", mode="before")
    @classmethod
    def _month(cls, value: Cell, info: ValidationInfo) -> str:
        if isinstance(value, date):  # Excel turns 2026-03 into the 1st of March
            return f"{value.year:04d}-{value.month:02d}"
        text = _required(value, info)
        found = MONTH.match(text)
        if found and 1 <= int(found.group(2)) <= 12:
            return f"{int(found.group(1)):04d}-{int(found.group(2)):02d}"
        raise _wrong(info, N_("%(value)s is not a month like 2026-03"), value=text)

    @field_validator("metric", mode="before")
    @classmethod
    def _metric(cls, value: Cell, info: ValidationInfo) -> str:
        return _required(value, info)

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, value: Cell, info: ValidationInfo) -> float:
        text = _required(value, info).replace(",", "")  # 1,234.5 as Excel formats it
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise _wrong(info, N_("%(value)s is not a number"), value=_text(value))
        return number


class RewardRow(_OfEmployee):
    happened_on: date
    kind: str
    note: str

    @field_validator("happened_on", mode="before")
    @classmethod
    def _happened_on(cls, value: Cell, info: ValidationInfo) -> date:
        return _day(value, info)

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Cell, info: ValidationInfo) -> str:
        text = _required(value, info)
        if text.casefold() not in REWARD_KINDS:
            raise _wrong(info, N_("%(value)s is neither 奖励/reward nor 惩罚/penalty"),
                         value=text)
        return REWARD_KINDS[text.casefold()]

    @field_validator("note", mode="before")
    @classmethod
    def _note(cls, value: Cell, info: ValidationInfo) -> str:
        text = _text(value)
        if len(text) > 2000:
            raise _wrong(info, N_("%(count)s characters: at most %(most)s"), count=len(text),
                         most=2000)
        return text


ROW_MODELS: dict[Kind, type[_Row]] = {Kind.EMPLOYEES: EmployeeRow, Kind.HISTORY: HistoryRow,
                                      Kind.METRICS: MetricRow, Kind.REWARDS: RewardRow}


def match_columns(kind: Kind, headings: list[str], locale: str, line: int = 1,
                  ) -> tuple[dict[str, int], dict[str, str], list[Problem]]:
    """Which cell holds each field and the heading the file gives it; a missing column is a
    problem on the headings' line. Headings are matched in either language, ignoring case
    and spaces."""
    def plain(heading: str) -> str:
        return re.sub(r"[\s_-]+", "_", heading.strip().lstrip("\ufeff")).strip("_").casefold()

    where = {plain(h): i for i, h in reversed(list(enumerate(headings)))}
    index: dict[str, int] = {}
    heading: dict[str, str] = {}
    problems = []
    for name, words in COLUMNS[kind].items():
        found = next((where[w.casefold()] for w in words if w.casefold() in where), None)
        if found is not None:
            index[name], heading[name] = found, headings[found].strip().lstrip("\ufeff")
        elif name not in OPTIONAL:
            problems.append(Problem(line, "/".join(words), gettext(
                locale, N_("column missing: the first line names the columns"))))
    return index, heading, problems


def check_rows(kind: Kind, sheet: Sheet, lookup: Lookup,
               progress: Progress | None = None) -> tuple[list[tuple[int, _Row]], list[Problem]]:
    """Every row checked: the good ones with their lines, and every problem found."""
    index, heading, problems = match_columns(kind, sheet.headings, lookup.locale,
                                             sheet.heading_line)
    if problems:
        return [], problems
    model = ROW_MODELS[kind]
    good: list[tuple[int, _Row]] = []
    first_line: dict[tuple[Any, ...], int] = {}
    for done, (line, cells) in enumerate(sheet.rows, start=1):
        raw = {name: (cells[i] if i < len(cells) else None) for name, i in index.items()}
        raw.update({name: None for name in COLUMNS[kind] if name not in raw})
        try:
            row = model.model_validate(raw, context={"lookup": lookup})
        except ValidationError as exc:
            for error in exc.errors():
                name = str(error["loc"][0])
                cause = (error.get("ctx") or {}).get("error")
                problems.append(Problem(line, heading.get(name, name),
                                        str(cause) if cause else error["msg"]))
        else:
            key = tuple(getattr(row, k) for k in KEYS[kind])
            if key in first_line:
                columns = names(lookup.locale).join(heading.get(k, k) for k in KEYS[kind])
                problems.append(Problem(line, heading["employee_id"], gettext(
                    lookup.locale, N_("the same %(columns)s as line %(line)s")) % {
                        "columns": columns, "line": first_line[key]}))
            else:
                first_line[key] = line
                good.append((line, row))
        if progress and (done % PROGRESS_EVERY == 0 or done == len(sheet.rows)):
            progress(N_("Checking rows"), done, len(sheet.rows))
    return good, problems


# --- storing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    model: type[Base]
    key: tuple[str, ...]  # the columns a row is found by
    values: tuple[str, ...]  # the columns a later import may change


TABLES = {
    Kind.EMPLOYEES: Table(ImportedEmployee, ("employee_id",),
                          ("name", "email", "department", "position", "hired_on")),
    Kind.HISTORY: Table(ImportedTraining, ("employee_id", "module_code", "completed_on"),
                        ("score",)),
    Kind.METRICS: Table(ImportedMetric, ("employee_id", "month", "metric"), ("value",)),
    Kind.REWARDS: Table(ImportedReward, ("content_hash",), ()),
}


def record_of(kind: Kind, row: _Row) -> dict[str, Any]:
    """The stored columns of a checked row."""
    if isinstance(row, HistoryRow):
        return {"employee_id": row.employee_id, "module_code": row.module,
                "completed_on": row.completed_on, "score": row.score}
    if isinstance(row, RewardRow):
        whole = "\x1f".join((row.employee_id, row.happened_on.isoformat(), row.kind, row.note))
        return {**row.model_dump(), "content_hash": hashlib.sha256(whole.encode()).hexdigest()}
    return row.model_dump()


@dataclass
class Changes:
    new: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)  # with the stored row's id
    unchanged: int = 0


def compare(session: Session, kind: Kind, records: list[dict[str, Any]]) -> Changes:
    """Which records are new, which change a stored row, which are stored as they are."""
    table = TABLES[kind]
    columns = [getattr(table.model, c) for c in ("id", *table.key, *table.values)]
    stored = {tuple(r[1:1 + len(table.key)]): (r[0], tuple(r[1 + len(table.key):]))
              for r in session.execute(select(*columns))}
    changes = Changes()
    for record in records:
        found = stored.get(tuple(record[k] for k in table.key))
        if found is None:
            changes.new.append(record)
        elif found[1] != tuple(record[v] for v in table.values):
            changes.changed.append({"id": found[0], **{v: record[v] for v in table.values}})
        else:
            changes.unchanged += 1
    return changes


def _store(session: Session, kind: Kind, changes: Changes, source: str,
           progress: Progress | None) -> None:
    model = TABLES[kind].model
    now = clock.now()
    total = len(changes.new) + len(changes.changed)
    done = 0
    for batch, statement in ((changes.new, insert(model)), (changes.changed, update(model))):
        for start in range(0, len(batch), PROGRESS_EVERY):
            chunk = batch[start:start + PROGRESS_EVERY]
            session.execute(statement, [{**r, "source_file": source, "imported_at": now}
                                        for r in chunk])
            done += len(chunk)
            if progress:
                progress(N_("Storing rows"), done, total)


def import_file(*, kind: Kind, path: Path, by_email: str, locale: str, via: str = "cli",
                dry_run: bool = False, skip_bad: bool = False,
                progress: Progress | None = None) -> ImportReport:
    """Check every row of the file and store the good ones (all or nothing unless skip_bad;
    nothing in a dry run). Raises NotPermitted unless the person may import, UnreadableFile."""
    by = check(action="import", target=Target("area", f"import:{kind}", "hr"), via=via,
               by_email=by_email)
    sheet = read_sheet(path, kind)
    report = ImportReport(kind, path.name, rows=len(sheet.rows))
    missing = match_columns(kind, sheet.headings, locale, sheet.heading_line)[2]
    if missing:  # no row can be read: nothing to skip to, whatever the caller asked
        report.problems, report.columns_missing = missing, True
        report.bad_lines = [sheet.heading_line]
        return report
    with reading() as session:
        employees = session.scalars(select(ImportedEmployee.employee_id))
        lookup = Lookup.of(get_catalog(), employees, locale)
    good, report.problems = check_rows(kind, sheet, lookup, progress)
    report.bad_lines = sorted({p.line for p in report.problems})
    records = [record_of(kind, row) for _line, row in good]
    if dry_run or (report.problems and not skip_bad):
        with reading() as session:
            changes = compare(session, kind, records)
    else:
        with transaction() as session:
            changes = compare(session, kind, records)
            _store(session, kind, changes, path.name, progress)
            if changes.new or changes.changed:
                repo.audit(session=session, actor=by, action="import", object_type="import",
                           object_id=str(kind), via=via, now=clock.now(), detail={
                               "file": path.name, "added": len(changes.new),
                               "updated": len(changes.changed),
                               "unchanged": changes.unchanged,
                               "bad_lines": report.bad_lines[:1000]})
        report.written = True
    report.added, report.updated = len(changes.new), len(changes.changed)
    report.unchanged = changes.unchanged
    return report

