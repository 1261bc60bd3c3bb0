"""Does a module pay off? A metric of the employees who completed it against the others', and
each completer's before against after (`jieli report effectiveness`, /hr/effectiveness, the
weekly report in Prefect).

Definitions, for one module M and one metric (a name in the imported monthly figures):

- **Completing M.** An imported employee completed M on the earliest of: a day of M in the
  old system's training history (imported, so it counts like Jieli's own training), or the
  day they passed M's quiz in Jieli (a passed assignment of M in a run whose hire's address
  is the employee's; the day as the database writes the stored time: UTC on SQLite, the
  server's time zone on PostgreSQL). Their **completion month** is that day's month
  (YYYY-MM).
- **Before and after.** A completer's figures of months earlier than the completion month are
  *before*, of months later than it *after*; the completion month itself is neither (the
  training took part of it).
- **Completed group**: completers with at least one figure after; `completed_mean` is the mean
  of all those after figures (every employee-month weighs the same). `completed_imported_n`
  says how many of them completed M in the old system (in their completion month).
- **Not completed group**: imported employees who never completed M and have at least one
  figure; `not_completed_mean` is the mean of all their figures, whatever the month.
- **Lift**: `lift_pct = (completed_mean - not_completed_mean) / not_completed_mean * 100`,
  None when either mean is missing or the others' mean is 0.
- **Before against after**: only completers with figures on both sides (`before_after_n`), so
  that the same people are compared; `before_mean` and `after_mean` are the means of their
  before and their after figures.
- **Rounding**: means to 2 decimals, `lift_pct` to 1 (from the unrounded means), by Python's
  `round`.
- **Caution** (None, or sentences in the reader's language): a group, or the completers with
  both sides, of fewer than MIN_GROUP employees (a group of 3 gets one); no completer with
  figures after, or none with figures before and after; or months that do not overlap (the
  completers' after months and the others' months, as first-to-last ranges): then a
  difference may be the season or the year rather than the training.

Everything is aggregated in one SQL statement (per employee, then per group), so the cost is
about one read of the metric's figures, not a Python loop over them; the statement is
shaped for the backend (`_figures`), as benchmarks/reports.py measures.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.dates import format_skeleton
from babel.numbers import format_decimal
from pydantic import BaseModel
from sqlalchemy import String, and_, case, cast, func, literal, select, true, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CTE

from storage.models import (
    Assignment,
    AssignmentStatus,
    ImportedEmployee,
    ImportedMetric,
    ImportedTraining,
    Person,
    Run,
)
from tasks.env import get_catalog, reading
from tasks.i18n import N_, gettext, normalize_locale
from tasks.labels import names
from tasks.permissions import Target, check

# Fewer employees than this in a group, and a difference of means may well be chance.
MIN_GROUP = 30
# What reading a report is, in the permission matrix: HR's and the boss's (`read`, all).
REPORTS = Target("area", "reports", "hr")


class UnknownModule(LookupError):
    """A module code the catalog does not have."""

    def __init__(self, module: str, known: list[str]):
        super().__init__(module)
        self.module, self.known = module, known


class UnknownMetric(LookupError):
    """A metric no imported figure has."""

    def __init__(self, metric: str, known: list[str]):
        super().__init__(metric)
        self.metric, self.known = metric, known


class Effectiveness(BaseModel):
    """The figures of one module and metric (the module docstring defines each)."""

    module: str  # the module's code
    metric: str
    completed_n: int
    completed_mean: float | None
    not_completed_n: int
    not_completed_mean: float | None
    lift_pct: float | None
    before_mean: float | None
    after_mean: float | None
    caution: str | None
    before_after_n: int
    completed_imported_n: int


def spoken_month(month: str, locale: str) -> str:
    """2025-03 as people write it: 2025年3月 / Mar 2025."""
    year, number = map(int, month.split("-"))
    return format_skeleton("yMMM", date(year, number, 1), locale=normalize_locale(locale))


def shown_mean(value: float | None, locale: str) -> str:
    """A mean as the reader writes numbers (12,345.68), or — when there is none."""
    if value is None:
        return "—"
    return format_decimal(value, format="#,##0.00", locale=normalize_locale(locale))


def shown_lift(value: float | None) -> str:
    """+30.0%, -2.5%, or — when there is none."""
    return "—" if value is None else f"{value:+.1f}%"


def known_metrics(*, session: Session) -> list[str]:
    """The metrics the imported monthly figures name, sorted."""
    return list(session.scalars(select(ImportedMetric.metric).distinct()
                                .order_by(ImportedMetric.metric)))


def _month_of(column: Any) -> ColumnElement[str]:
    """YYYY-MM of a date or a timestamp, as ISO text on SQLite and PostgreSQL alike."""
    return func.substr(cast(column, String), 1, 7)


def _completions(module: str) -> CTE:
    """Per imported employee who completed the module: the first completion's month, and the
    first month the old system's history gives (equal when that completion was imported)."""
    imported = (select(ImportedTraining.employee_id.label("employee_id"),
                       _month_of(ImportedTraining.completed_on).label("month"),
                       literal(1).label("imported"))
                .where(ImportedTraining.module_code == module))
    passed = (select(ImportedEmployee.employee_id, _month_of(Assignment.completed_at),
                     literal(0))
              .select_from(Assignment)
              .join(Run, Run.id == Assignment.run_id)
              .join(Person, Person.id == Run.hire_id)
              .join(ImportedEmployee, ImportedEmployee.email == Person.email)
              .where(Assignment.module_code == module,
                     Assignment.status == AssignmentStatus.PASSED,
                     Assignment.completed_at.is_not(None)))
    both = union_all(imported, passed).subquery("completions")
    return (select(both.c.employee_id, func.min(both.c.month).label("month"),
                   func.min(case((both.c.imported == 1, both.c.month))).label("imported_month"))
            .group_by(both.c.employee_id).cte("done"))


def _among(group: ColumnElement[bool], value: Any) -> Any:
    """`value` for rows of the group, NULL for the others (which aggregates skip)."""
    return case((group, value))


def _figures(session: Session, module: str, metric: str) -> dict[str, Any]:
    """Counts, sums and month ranges of the groups, in one statement, shaped for the backend:
    PostgreSQL hash-joins the figures to the completions in one pass; SQLite has no hash
    join (each row looked up in the completions costs a B-tree search), so it is spared
    that (benchmarks/reports.py measures both)."""
    if session.get_bind().dialect.name == "postgresql":
        return _figures_in_one_pass(session, module, metric)
    return _figures_by_index(session, module, metric)


def _figures_in_one_pass(session: Session, module: str, metric: str) -> dict[str, Any]:
    """Each figure joined to its employee's completion, summed per employee, then per group."""
    done = _completions(module)
    m = ImportedMetric
    after, before = m.month > done.c.month, m.month < done.c.month
    per = (select(func.max(done.c.month).label("done_month"),
                  func.max(done.c.imported_month).label("imported_month"),
                  func.sum(_among(after, m.value)).label("after_sum"),
                  func.count(_among(after, 1)).label("after_n"),
                  func.sum(_among(before, m.value)).label("before_sum"),
                  func.count(_among(before, 1)).label("before_n"),
                  func.sum(m.value).label("total"), func.count().label("months"),
                  func.min(_among(after, m.month)).label("after_first"),
                  func.max(_among(after, m.month)).label("after_last"),
                  func.min(m.month).label("first"), func.max(m.month).label("last"))
           .select_from(m).outerjoin(done, done.c.employee_id == m.employee_id)
           .where(m.metric == metric).group_by(m.employee_id).subquery("per_employee"))
    p = per.c
    other = p.done_month.is_(None)
    completed = and_(p.done_month.is_not(None), p.after_n > 0)
    both_sides = and_(completed, p.before_n > 0)
    row = session.execute(select(
        func.count(_among(other, 1)).label("other_n"),
        func.sum(_among(other, p.total)).label("other_sum"),
        func.sum(_among(other, p.months)).label("other_months"),
        func.min(_among(other, p.first)).label("other_first"),
        func.max(_among(other, p.last)).label("other_last"),
        func.count(_among(completed, 1)).label("completed_n"),
        func.count(_among(and_(completed, p.imported_month == p.done_month), 1))
        .label("completed_imported_n"),
        func.sum(_among(completed, p.after_sum)).label("completed_sum"),
        func.sum(_among(completed, p.after_n)).label("completed_months"),
        func.min(_among(completed, p.after_first)).label("after_first"),
        func.max(_among(completed, p.after_last)).label("after_last"),
        func.count(_among(both_sides, 1)).label("both_n"),
        func.sum(_among(both_sides, p.before_sum)).label("before_sum"),
        func.sum(_among(both_sides, p.before_n)).label("before_months"),
        func.sum(_among(both_sides, p.after_sum)).label("after_sum"),
        func.sum(_among(both_sides, p.after_n)).label("after_months"))).one()
    return dict(row._mapping)


def _figures_by_index(session: Session, module: str, metric: str) -> dict[str, Any]:
    """Each employee's first and last month from the covering unique index (employee, month,
    metric), joined to the completions once per employee: who is in which group; the
    completers' figures read by index range, split into before and after; the others' sums
    are all the figures' (one plain scan) less the completers'."""
    done = _completions(module)
    m = ImportedMetric
    span = (select(m.employee_id, func.min(m.month).label("first"),
                   func.max(m.month).label("last"))
            .where(m.metric == metric).group_by(m.employee_id).subquery("span"))
    person = (select(span, done.c.month.label("done_month"), done.c.imported_month)
              .select_from(span.outerjoin(done, done.c.employee_id == span.c.employee_id))
              .cte("person"))
    p = person.c
    other = p.done_month.is_(None)
    completed = and_(p.done_month.is_not(None), p.last > p.done_month)
    both_sides = and_(completed, p.first < p.done_month)
    groups = select(
        func.count(_among(other, 1)).label("other_n"),
        func.min(_among(other, p.first)).label("other_first"),
        func.max(_among(other, p.last)).label("other_last"),
        func.count(_among(completed, 1)).label("completed_n"),
        func.count(_among(and_(completed, p.imported_month == p.done_month), 1))
        .label("completed_imported_n"),
        func.count(_among(both_sides, 1)).label("both_n"),
    ).subquery("groups")
    after, before = m.month > p.done_month, m.month < p.done_month
    completers = (select(
        func.sum(m.value).label("completers_sum"), func.count().label("completers_months"),
        func.sum(_among(after, m.value)).label("completed_sum"),
        func.count(_among(after, 1)).label("completed_months"),
        func.min(_among(after, m.month)).label("after_first"),
        func.max(_among(after, m.month)).label("after_last"),
        func.sum(_among(and_(both_sides, before), m.value)).label("before_sum"),
        func.count(_among(and_(both_sides, before), 1)).label("before_months"),
        func.sum(_among(and_(both_sides, after), m.value)).label("after_sum"),
        func.count(_among(and_(both_sides, after), 1)).label("after_months"))
        .select_from(person)
        .join(m, and_(m.employee_id == p.employee_id, m.metric == metric))
        .where(p.done_month.is_not(None))
        .subquery("completers"))
    everything = (select(func.sum(m.value).label("all_sum"), func.count().label("all_months"))
                  .where(m.metric == metric).subquery("everything"))
    row = dict(session.execute(
        select(groups, completers, everything)
        .select_from(groups.join(completers, true()).join(everything, true()))).one()._mapping)
    row["other_sum"] = (row.pop("all_sum") or 0.0) - (row.pop("completers_sum") or 0.0)
    row["other_months"] = row.pop("all_months") - row.pop("completers_months")
    return row


def _mean(total: Any, count: Any) -> float | None:
    # PostgreSQL sums counts as numeric: both come back as Decimal there.
    return float(total) / int(count) if count and total is not None else None


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def effectiveness(*, session: Session, module: str, metric: str,
                  locale: str) -> Effectiveness:
    """The module's effect on the metric; UnknownModule, UnknownMetric when there is none."""
    catalog = get_catalog()
    if module not in catalog.modules:
        raise UnknownModule(module, list(catalog.modules))
    f = _figures(session, module, metric)
    if not f["completed_n"] and not f["other_n"]:
        known = known_metrics(session=session)
        if metric not in known:
            raise UnknownMetric(metric, known)
    completed = _mean(f["completed_sum"], f["completed_months"])
    others = _mean(f["other_sum"], f["other_months"])
    lift = (completed - others) / others * 100 if completed is not None and others else None
    return Effectiveness(
        module=module, metric=metric,
        completed_n=f["completed_n"], completed_mean=_rounded(completed, 2),
        not_completed_n=f["other_n"], not_completed_mean=_rounded(others, 2),
        lift_pct=_rounded(lift, 1),
        before_mean=_rounded(_mean(f["before_sum"], f["before_months"]), 2),
        after_mean=_rounded(_mean(f["after_sum"], f["after_months"]), 2),
        caution=caution(f, module, metric, locale), before_after_n=f["both_n"],
        completed_imported_n=f["completed_imported_n"])


def caution(f: dict[str, Any], module: str, metric: str, locale: str) -> str | None:
    """Why the figures may mislead, in the reader's language; None when nothing is amiss."""
    lang = normalize_locale(locale)
    said: list[str] = []

    def say(message: str, **params: Any) -> None:
        said.append(gettext(lang, message) % {
            "module": names(lang).module(module), "metric": metric, "least": MIN_GROUP,
            **params})

    if not f["completed_n"]:
        say(N_("Nobody who completed “%(module)s” has “%(metric)s” figures for a month after "
               "completing it: there is nothing to compare."))
    elif f["completed_n"] < MIN_GROUP:
        say(N_("Only %(count)s employee(s) completed “%(module)s” and have “%(metric)s” figures "
               "after it, fewer than %(least)s: too few to tell an effect from chance."),
            count=f["completed_n"])
    if not f["other_n"]:
        say(N_("Everyone with “%(metric)s” figures completed “%(module)s”: there is nobody to "
               "compare them with."))
    elif f["other_n"] < MIN_GROUP:
        say(N_("Only %(count)s employee(s) with “%(metric)s” figures did not complete "
               "“%(module)s”, fewer than %(least)s: too few to compare with."),
            count=f["other_n"])
    if f["completed_n"] and not f["both_n"]:
        say(N_("No completer of “%(module)s” has “%(metric)s” figures both before and after "
               "completing it: before and after cannot be compared."))
    elif f["completed_n"] and f["both_n"] < MIN_GROUP:
        say(N_("Only %(count)s completer(s) have “%(metric)s” figures both before and after "
               "completing “%(module)s”, fewer than %(least)s: before and after rest on few "
               "people."), count=f["both_n"])
    if (f["completed_n"] and f["other_n"] and (f["after_last"] < f["other_first"]
                                               or f["other_last"] < f["after_first"])):
        say(N_("The months do not overlap: the completers' figures after completing run from "
               "%(first)s to %(last)s, the others' from %(other_first)s to %(other_last)s, so "
               "a difference may come from the time of year, not the training."),
            first=spoken_month(f["after_first"], lang), last=spoken_month(f["after_last"], lang),
            other_first=spoken_month(f["other_first"], lang),
            other_last=spoken_month(f["other_last"], lang))
    return (" " if lang == "en" else "").join(said) or None


def measure(*, module: str, metric: str, locale: str, by_email: str,
            via: str = "cli") -> Effectiveness:
    """`effectiveness` for a person the matrix lets read reports; NotPermitted otherwise."""
    check(action="read", target=REPORTS, via=via, by_email=by_email)
    with reading() as session:
        return effectiveness(session=session, module=module, metric=metric, locale=locale)


def modules_completed(*, session: Session) -> list[str]:
    """The catalog's modules someone completed (imported or in Jieli), in catalog order."""
    done = set(session.scalars(select(ImportedTraining.module_code).distinct()))
    done |= set(session.scalars(select(Assignment.module_code).distinct()
                                .where(Assignment.status == AssignmentStatus.PASSED)))
    return [code for code in get_catalog().modules if code in done]


def every_effectiveness(*, session: Session, locale: str) -> list[Effectiveness]:
    """Each module someone completed against each metric with figures."""
    metrics = known_metrics(session=session)
    return [effectiveness(session=session, module=module, metric=metric, locale=locale)
            for module in modules_completed(session=session) for metric in metrics]
