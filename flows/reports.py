"""The weekly report: training effectiveness of every module someone completed, against every
imported metric, as a table artifact the boss reads in the Prefect UI (Artifacts, or the
run's Artifacts tab). Served by the runner on a weekly schedule (deployments/serve.py)."""

from __future__ import annotations

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.process_title import name_the_process
from storage.settings import get_settings
from tasks.env import reading
from tasks.i18n import N_, gettext
from tasks.labels import names
from tasks.reports.effectiveness import Effectiveness, every_effectiveness, shown_lift, shown_mean

# Mondays at 08:00 in the company's time zone (settings.timezone).
WEEKLY = "0 8 * * 1"
# One key: the Artifacts page keeps each week's table as a version of the same report.
ARTIFACT_KEY = "jieli-training-effectiveness"
COLUMNS = (N_("Module"), N_("Metric"), N_("Completed (employees)"), N_("Completed: monthly mean"),
           N_("Did not complete (employees)"), N_("Did not complete: monthly mean"),
           N_("Lift"), N_("Completers before"), N_("Completers after"), N_("Caution"))


@task(cache_policy=NO_CACHE)
def measure_every_module(locale: str) -> list[Effectiveness]:
    with reading() as session:
        return every_effectiveness(session=session, locale=locale)


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 15])
def publish_table(figures: list[Effectiveness], locale: str) -> None:
    n = names(locale)
    headings = [gettext(locale, c) for c in COLUMNS]
    rows = [dict(zip(headings, (
        n.module(f.module), f.metric, f.completed_n, shown_mean(f.completed_mean, locale),
        f.not_completed_n, shown_mean(f.not_completed_mean, locale),
        shown_lift(f.lift_pct), shown_mean(f.before_mean, locale),
        shown_mean(f.after_mean, locale), f.caution or ""), strict=True)) for f in figures]
    create_table_artifact(rows, key=ARTIFACT_KEY, description=gettext(
        locale, N_("Training effectiveness: each module against each imported metric "
                   "(%(count)s pair(s))")) % {"count": len(rows)})


@flow(name="weekly-report")
def weekly_report() -> int:
    """Measure every module against every metric with figures, publish the table; the number
    of module and metric pairs measured."""
    name_the_process("weekly-report")
    locale = get_settings().default_locale
    figures = measure_every_module(locale)
    publish_table(figures, locale)
    return len(figures)
