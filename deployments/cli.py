"""The `jieli` command: start the stack, start runs, record hand-offs, read the catalog."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from storage.catalog import Catalog, CatalogInvalid, load_catalog
from storage.settings import get_settings
from tasks.i18n import N_
from tasks.import_columns import Kind as ImportKind

if TYPE_CHECKING:
    from deployments.stack import Stack

app = typer.Typer(help="Jieli (接力): onboarding as a relay with an owner for every leg.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
catalog_app = typer.Typer(help="Check, show, export and import the catalog.",
                          no_args_is_help=True)
db_app = typer.Typer(help="Jieli's storage.", no_args_is_help=True)
report_app = typer.Typer(help="Reports HR and the boss read.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")
app.add_typer(db_app, name="db")
app.add_typer(report_app, name="report")
# Made again by each command (`main`): a console reads the terminal's width (COLUMNS) when it is
# made, and a process running several commands (a test, a script) may change it between them.
console = Console()
err = Console(stderr=True)
# Prefect's state names of a run that is still active, as `jieli runs` shows them.
PREFECT_STATES = {"Suspended": N_("Waiting"), "Paused": N_("Waiting"),
                  "Running": N_("Taking a pass"), "Scheduled": N_("Queued"),
                  "Resuming": N_("Queued"), "Pending": N_("Queued"), "Late": N_("Queued"),
                  "AwaitingRetry": N_("Queued"), "Failed": N_("Pass failed"),
                  "Crashed": N_("Pass failed"), "Cancelling": N_("Being cancelled")}


def _fail(message: str, code: int = 1) -> typer.Exit:
    label = _("error:")
    err.print(f"[red]{escape(label)}[/red] {escape(message)}")
    return typer.Exit(code)


def _(message: str) -> str:
    """A CLI word in the installation's language (JIELI_DEFAULT_LOCALE)."""
    from tasks.i18n import gettext

    return gettext(get_settings().default_locale, message)


def _names() -> Any:
    from tasks.labels import names

    return names(get_settings().default_locale)


def _table(title: str, columns: tuple[str, ...]) -> Table:
    """A table whose title and column headings are in the installation's language."""
    table = Table(title=_(title))
    for column in columns:
        table.add_column(_(column) if column != "#" else column)
    return table


# Exit code of a refusal: nobody named to act as, or the matrix refuses that person.
REFUSED = 2


@app.callback()
def main(ctx: typer.Context, acting_as: Annotated[str | None, typer.Option(
        "--as", metavar="EMAIL",
        help="Act as this person (HR's address to start a hire); default JIELI_ACTING_AS")]
        = None) -> None:
    """Jieli (接力): onboarding as a relay with an owner for every leg."""
    global console, err
    console, err = Console(), Console(stderr=True)
    ctx.obj = acting_as


def _acting_as(ctx: typer.Context, given: str | None = None) -> str:
    """The address the command acts as: `given`, else `--as`, else JIELI_ACTING_AS."""
    email = given or ctx.find_root().obj or get_settings().acting_as
    if not email:
        raise _fail(_("`jieli %(command)s` acts as a named person: pass `jieli --as EMAIL "
                      "%(command)s …` or set JIELI_ACTING_AS") % {"command": ctx.info_name},
                    REFUSED)
    return str(email)


def _refused(exc: Exception) -> typer.Exit:
    return _fail(_("refused: %(reason)s") % {"reason": exc}, REFUSED)


def _may_track(ctx: typer.Context) -> str:
    """The `--as` person, if the matrix lets them `track` HR's area (every run and message,
    as HR's pages show them: HR and the boss); else the command is refused, audited."""
    from tasks.permissions import NotPermitted, Target, check

    try:
        return check(action="track", target=Target("area", "hr", "hr"), via="cli",
                     by_email=_acting_as(ctx))
    except NotPermitted as exc:
        raise _refused(exc) from None


def _row(*values: object) -> list[str]:
    """Table cells as literal text: names, subjects and errors are data, never rich markup."""
    return [escape(str(v)) for v in values]


def prepare_storage() -> None:
    """Migrate storage to the latest schema and copy the catalog into it."""
    from storage import repo
    from storage.db import upgrade
    from tasks.env import get_catalog, transaction

    upgrade(get_settings().storage_url)
    with transaction() as session:
        repo.sync_catalog(session=session, catalog=get_catalog())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations and sync the catalog into storage."""
    prepare_storage()
    console.print(escape(_("storage ready: %(url)s") % {"url": get_settings().storage_url}))


def _catalog_errors(exc: CatalogInvalid, directory: Path | None) -> typer.Exit:
    """Print every error of a catalog with its file and path; exit 1."""
    for e in exc.errors:
        where = directory / e.file if directory else e.file
        typer.echo(f"{where}: {e.path}: {e.message}", err=True)
    return _fail(_("%(count)d error(s) in the catalog") % {"count": len(exc.errors)})


@catalog_app.command("check")
def catalog_check(directory: Annotated[Path | None, typer.Argument()] = None) -> None:
    """Validate a catalog directory; print every error with its file and path."""
    try:
        catalog = load_catalog(directory)
    except CatalogInvalid as exc:
        raise _catalog_errors(exc, directory) from None
    console.print(_("catalog OK: %(departments)d departments, %(modules)d modules, "
                    "%(positions)d positions, %(rules)d attribution rules") % {
        "departments": len(catalog.departments), "modules": len(catalog.modules),
        "positions": len(catalog.positions), "rules": len(catalog.rules.attribution)})
    _warn_about_calendar(catalog)


def _warn_about_calendar(catalog: Catalog) -> None:
    """Say so when the catalog's calendar lacks this year's or next year's holidays."""
    from storage import clock
    from tasks.dates import local_date
    from tasks.workdays import calendar_of, missing_years_warning

    warning = missing_years_warning(calendar_of(catalog.rules), local_date(clock.now()),
                                    get_settings().default_locale)
    if warning:
        err.print(f"[yellow]{escape(warning)}[/yellow]", highlight=False, soft_wrap=True)


@catalog_app.command("show")
def catalog_show(directory: Annotated[Path | None, typer.Argument()] = None) -> None:
    """Print modules with their owners and RACI, and positions (default: the installation's)."""
    from tasks.env import get_catalog

    try:
        catalog = load_catalog(directory) if directory else get_catalog()
    except CatalogInvalid as exc:
        raise _fail(str(exc)) from None
    from tasks.labels import names

    n = names(get_settings().default_locale, catalog)
    # Codes stay in their own column: they are what `jieli hire --position` and `deliver` take.
    modules = _table(N_("Training modules"), (
        N_("Code"), N_("Module"), N_("Kind"), N_("Owner"), N_("Materials"), N_("Quiz"),
        "R", "A", "C", "I"))
    for m in catalog.modules.values():
        modules.add_row(*_row(
            m.code, n.module(m.code), n.module_kind(m.kind.value),
            n.member(m.owner, catalog.departments[m.owner].owner.name),
            "\n".join(x.title.get(n.lang) for x in m.materials),
            _("%(questions)s questions, pass mark %(mark)s, %(attempts)s attempts") % {
                "questions": len(m.quiz.questions), "mark": m.quiz.pass_mark,
                "attempts": m.quiz.attempts},
            n.join(map(n.party, m.raci.responsible)), n.party(m.raci.accountable),
            n.join(map(n.party, m.raci.consulted)), n.join(map(n.party, m.raci.informed))))
    console.print(modules)
    positions = _table(N_("Positions"), (N_("Code"), N_("Position"), N_("Modules"),
                                         N_("Probation appraisal")))
    for p in catalog.positions.values():
        items = "\n".join(_("%(item)s ← %(module)s (%(criteria)s)") % {
            "item": i.title.get(n.lang), "module": n.module(i.module),
            "criteria": n.join(n.criterion(c) for c in i.criteria)} for i in p.appraisal.items)
        appraisal = _("day %(day)s, pass mark %(mark)s") % {"day": p.appraisal.day,
                                                            "mark": p.appraisal.pass_mark}
        positions.add_row(*_row(p.code, n.position(p.code), "\n".join(map(n.module, p.modules)),
                                f"{appraisal}\n{items}"))
    console.print(positions)


@catalog_app.command("export")
def catalog_export(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Where to write the five YAML files")],
    force: Annotated[bool, typer.Option("--force", help="Write into a directory that is not "
                                        "empty (its other files are left alone)")] = False,
) -> None:
    """Write the installation's catalog as YAML: the catalog with what the department pages
    changed (each module's newest quiz, its materials); `jieli catalog check` passes on it."""
    from tasks.catalog_io import DirectoryNotEmpty, export_catalog
    from tasks.permissions import NotPermitted

    try:
        done = export_catalog(directory, by_email=_acting_as(ctx), force=force)
    except NotPermitted as exc:
        raise _refused(exc) from None
    except DirectoryNotEmpty:
        raise _fail(_("%(dir)s is not empty, so nothing was written: pass --force to write the "
                      "catalog's five files into it (its other files are left as they are).")
                    % {"dir": directory}) from None
    console.print(escape(_("Exported the catalog to %(dir)s: %(files)s. Check it with `jieli "
                           "catalog check %(dir)s`.") % {"dir": directory,
                                                         "files": ", ".join(done.files)}),
                  soft_wrap=True)


@catalog_app.command("import")
def catalog_import(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="A catalog directory (five YAML files)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would change, change "
                                          "nothing")] = False,
) -> None:
    """Make a YAML catalog the installation's: checked first, runs in progress keep their
    plans, a changed quiz becomes the module's next version."""
    from tasks.catalog_io import import_catalog
    from tasks.permissions import NotPermitted

    try:
        done = import_catalog(directory, by_email=_acting_as(ctx), dry_run=dry_run)
    except NotPermitted as exc:
        raise _refused(exc) from None
    except CatalogInvalid as exc:
        raise _catalog_errors(exc, directory) from None
    for line in done.changes.told(get_settings().default_locale):
        console.print(escape(line), soft_wrap=True)
    if done.installed is None:
        console.print(escape(_("Dry run of %(dir)s: nothing was changed.") % {"dir": directory}),
                      soft_wrap=True)
        return
    console.print(escape(_("Imported %(dir)s. The installation reads its catalog from %(copy)s "
                           "now: the forms app, the runner and each pass take it up by "
                           "themselves; runs in progress keep their plans.") % {
                               "dir": directory, "copy": done.installed}), soft_wrap=True)
    if done.changes.positions_added or done.changes.positions_removed:
        console.print(escape(_("Prefect's form for starting a hire lists the positions the "
                               "runner read at its start: restart `jieli up` (or the runner) "
                               "to list the new ones.")), soft_wrap=True)


@app.command()
def up() -> None:
    """Start Prefect, the runner, the forms app and SMTP; restart any that dies; Ctrl-C stops."""
    from deployments.stack import Stack
    from tasks.env import get_catalog

    settings = get_settings()
    prepare_storage()
    _warn_about_calendar(get_catalog())
    stack = Stack(settings)
    # SIGTERM stops like Ctrl-C, also while a child is being started (again). So does SIGINT
    # when the shell that started `jieli up` in the background had it ignored.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with console.status("starting the Prefect server, SMTP server, forms app and runner…"):
            stack.start_all()
    except (RuntimeError, TimeoutError) as exc:
        stack.stop()
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        stack.stop()
        raise typer.Exit(130) from None
    api = settings.prefect_api_url.removesuffix("/api")
    console.print(escape(f"Prefect UI   {api}\nForms        {settings.public_base_url}\n"
                         f"SMTP         {settings.smtp.host}:{settings.smtp.port} → "
                         f"{settings.data_dir.resolve() / 'mail'}\n"
                         f"Storage      {settings.storage_url}\n"
                         f"Catalog      {get_catalog().directory}\nLogs         "
                         f"{settings.data_dir.resolve() / 'logs'}\nCtrl-C stops everything."))
    try:
        stack.supervise(threading.Event(), say=lambda line: err.print(
            f"[yellow]{escape(line)}[/yellow]", highlight=False))
    except KeyboardInterrupt:
        pass
    finally:
        with console.status("stopping…"):
            stack.stop()


@app.command()
def hire(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="The hire's name")],
    email: Annotated[str, typer.Option(help="The hire's email")],
    position: Annotated[str, typer.Option(help="A position code from the catalog")],
    start: Annotated[str, typer.Option(help="First working day, YYYY-MM-DD")],
    locale: Annotated[str, typer.Option(help="zh_CN or en")] = "zh_CN",
) -> None:
    """Start one onboarding run for a hire and print its Prefect UI link (acting as `--as`)."""
    from storage.names import InvalidPerson
    from tasks.permissions import NotPermitted
    from tasks.runs import AlreadyOnboarding, UnknownPosition, start_onboarding, ui_url

    by = _acting_as(ctx)
    try:
        start_day = date.fromisoformat(start)
    except ValueError:
        raise _fail(_("--start %(value)s is not a date like 2026-12-01") % {
            "value": repr(start)}) from None
    try:
        started = start_onboarding(name=name, email=email, position=position, start=start_day,
                                   locale=locale, by_email=by, via="cli")
    except InvalidPerson as exc:
        raise _fail(_("%(problem)s (--name / --email); nothing was stored") % {
            "problem": exc}) from None
    except (UnknownPosition, AlreadyOnboarding) as exc:
        raise _fail(str(exc).strip("'\"")) from None
    except NotPermitted as exc:
        raise _refused(exc) from None
    if started.flow_run_id is None:
        console.print(escape(_(
            "run #%(run)d stored; Prefect is unreachable at %(url)s, the run starts when it is "
            "back (`jieli up`).") % {"run": started.run_id,
                                     "url": get_settings().prefect_api_url}))
        return
    # "#<number>" then a space, in every language: scripts take the run's number from it.
    console.print(escape(_("run #%(run)d started for %(name)s: %(url)s") % {
        "run": started.run_id, "name": name, "url": ui_url(started.flow_run_id)}))


@app.command()
def deliver(
    ctx: typer.Context,
    module: Annotated[str, typer.Argument(help="The module whose materials are handed off")],
    by: Annotated[str | None, typer.Option(
        "--by", help="The owner's email (default: the person of `--as`)")] = None,
    note: Annotated[str, typer.Option(help="A note for the hire")] = "",
) -> None:
    """Record a department's hand-off of a module's materials and resume the runs it unblocks."""
    from tasks.handoff import deliver_materials
    from tasks.permissions import NotPermitted

    by_email = _acting_as(ctx, by)
    try:
        outcome = deliver_materials(module_code=module, by_email=by_email, via="cli", note=note)
    except LookupError as exc:
        raise _fail(str(exc).strip("'\"")) from None
    except NotPermitted as exc:
        raise _refused(exc) from None
    console.print(escape(_("delivery #%(delivery)d of %(module)s recorded; resumed runs: "
                           "%(runs)s") % {"delivery": outcome.delivery_id, "module": module,
                                          "runs": outcome.resumed or "—"}))
    if outcome.deferred:
        console.print(escape(_("Prefect unreachable: runs %(runs)s resume when it is back.")
                             % {"runs": outcome.deferred}))


@app.command()
def resume(
    ctx: typer.Context,
    run_id: Annotated[int | None, typer.Argument(help="A run number; none: every run due")] = None,
) -> None:
    """Make a run re-evaluate now, or bring back one cancelled in Prefect (or every run due).

    A run marked as needing attention (its passes failed the same way three times) has the
    mark cleared and its pass tried again.
    """
    from tasks.runs import (
        UNREACHABLE,
        AlreadyOnboarding,
        resume_requested_runs,
        resume_run,
        retry_failed_runs,
    )

    by = _may_track(ctx)
    if run_id is None:
        console.print(escape(_("resume requests: %(result)s") % {
            "result": resume_requested_runs()}))
        try:
            console.print(escape(_("failed passes retried: %(result)s") % {
                "result": retry_failed_runs()}))
        except UNREACHABLE:
            later = _("Prefect unreachable: failed passes retried later")
            err.print(f"[yellow]{escape(later)}[/yellow]")
        return
    try:
        resumed = resume_run(run_id, clear_attention=True, bring_back=True, actor=by)
    except (LookupError, AlreadyOnboarding) as exc:
        raise _fail(str(exc).strip("'\"")) from None
    if not resumed and _run_status(run_id) == "cancelled":
        raise _fail(_("run #%(run)d not brought back: Prefect unreachable at %(url)s; run this "
                      "again once it is up") % {"run": run_id,
                                                "url": get_settings().prefect_api_url})
    said = (_("run #%(run)d resumed") if resumed else
            _("run #%(run)d not resumed: Prefect unreachable, retried later"))
    console.print(said % {"run": run_id})


def _run_status(run_id: int) -> str:
    from storage import repo
    from tasks.env import transaction

    with transaction() as session:
        return repo.get_run(session=session, run_id=run_id).status


def _play(files: list[Path], workdir: Path, api_url: str,
          on_result: Callable[[dict, Any], None]) -> list[dict]:
    """Play scenario files against the Prefect server at api_url; one result per file."""
    from deployments.scenario import ScenarioInvalid, load_scenario
    from deployments.simulate import SIMULATION_DEPLOYMENT, prepare_environment

    prepare_environment(workdir, api_url)
    from deployments.simulate import Simulator
    from flows.onboarding import onboarding

    # A deployment of its own: a runner serving "onboarding" must not take simulated runs.
    onboarding.to_deployment(name=SIMULATION_DEPLOYMENT,  # type: ignore[union-attr]
                             tags=["jieli", "simulation"]).apply()
    simulator = Simulator(workdir, api_url)
    results = []
    try:
        for index, path in enumerate(files):
            try:
                scenario = load_scenario(path)
            except ScenarioInvalid as exc:
                result = {"name": str(path), "error": str(exc), "ok": False}
            else:
                result = simulator.play(scenario, index)
            results.append(result)
            on_result(result, simulator)
    finally:
        simulator.close()
    return results


def _print_result(result: dict) -> None:
    mark = "[green]ok[/green]" if result.get("ok") else "[red]NOT OK[/red]"
    from tasks.reports.relay import verdict_name

    console.print(f"\n[bold]{escape(result['name'])}[/bold]: "
                  f"{escape(verdict_name(str(result.get('outcome', '?'))))} {mark}")
    if result.get("error"):
        console.print(f"  [red]{escape(result['error'])}[/red]", markup=True, highlight=False)
    n = _names()
    for f in result.get("findings", []):
        console.print(escape(f"  {_finding(f)}"), highlight=False)
        for e in f["evidence"]:
            console.print(escape(f"    · {e}"), highlight=False)
    if result.get("remedial"):
        console.print(escape("  " + _("Remedial: %(modules)s") % {
            "modules": n.modules(result["remedial"])}))
    reminders = result.get("reminders", [])
    if reminders:
        console.print(escape(f"  reminders: {len(reminders)} "
                             f"({', '.join(sorted({r['to'] for r in reminders}))})"),
                      highlight=False)


def _isolate_prefect(workdir: Path) -> None:
    """Forget the installation's Prefect (server, database, profile): this process and the
    server it starts use only what lives in workdir. Before Prefect is first imported."""
    for name in [n for n in os.environ if n.startswith("PREFECT_")]:
        del os.environ[name]
    # Prefect creates its home at import, but not its parents (it warns instead).
    (workdir / "prefect").mkdir(parents=True, exist_ok=True)


def _start_own_prefect(workdir: Path) -> tuple[Stack, str]:
    """A Prefect server on a free port with its home and database in workdir."""
    from deployments.stack import Stack, free_port
    from storage.settings import Settings

    _isolate_prefect(workdir)
    api_url = f"http://127.0.0.1:{free_port()}/api"
    stack = Stack(Settings(data_dir=workdir, prefect_api_url=api_url, database_url=""))
    try:
        stack.start_prefect_server()
    except (RuntimeError, TimeoutError) as exc:
        stack.stop()
        raise _fail(str(exc)) from None
    return stack, api_url


@app.command()
def simulate(
    files: Annotated[list[Path], typer.Argument(help="Scenario files (YAML)")],
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object a line")] = False,
) -> None:
    """Play scenarios through the real flows, forms and SMTP server, in virtual time."""
    import json
    import tempfile
    import time as _time

    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise _fail(f"no such file: {', '.join(missing)}")
    workdir = Path(tempfile.mkdtemp(prefix="jieli-simulate-"))
    started = _time.monotonic()
    stack: Stack | None = None
    try:
        with err.status("starting a Prefect server for the simulation…"):
            stack, api_url = _start_own_prefect(workdir)
        results = _play(files, workdir, api_url,
                        lambda r, _: print(json.dumps(r, ensure_ascii=False), flush=True)
                        if json_output else _print_result(r))
    finally:
        if stack is not None:
            stack.stop()
    err.print(f"{len(results)} scenario(s) in {_time.monotonic() - started:.1f}s")
    if not all(r.get("ok") for r in results):
        raise typer.Exit(1)


EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "scenarios"


def example_scenarios() -> list[Path]:
    """The example scenarios the demo plays: format version 1, then version 2 (practice legs,
    remedial training)."""
    return sorted(EXAMPLES.glob("*.yaml")) + sorted((EXAMPLES / "v2").glob("*.yaml"))


@app.command()
def demo(
    keep: Annotated[bool, typer.Option("--keep", help="Leave the Prefect server running")]
    = False,
    scenario: Annotated[list[Path] | None, typer.Option(
        "--scenario", help="Play these scenario files instead of the examples")] = None,
    data_dir: Annotated[Path | None, typer.Option(
        help="Where the demo keeps its storage and records (default: a new temporary one)")]
    = None,
    prefect_api_url: Annotated[str | None, typer.Option(
        help="Show the runs on this Prefect server instead of one of the demo's own")] = None,
) -> None:
    """Play the example onboardings on storage and a Prefect server of their own, then show
    whose leg broke. Nothing of the installation (its data, its Prefect) is touched."""
    import tempfile
    import time as _time

    files = scenario or example_scenarios()
    missing = [str(f) for f in files if not f.is_file()]
    if not files or missing:
        raise _fail(f"no scenario files: {', '.join(missing) or EXAMPLES}")
    workdir = (data_dir or Path(tempfile.mkdtemp(prefix="jieli-demo-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    records = workdir / "records"
    started = _time.monotonic()
    results: list[dict] = []
    stack: Stack | None = None
    try:
        if prefect_api_url is None:
            with err.status("starting the demo's own Prefect server…"):
                stack, api_url = _start_own_prefect(workdir)
        else:
            _isolate_prefect(workdir)
            api_url = prefect_api_url

        def done(result: dict, simulator: Any) -> None:
            err.print(f"played: {result['name']} ({_time.monotonic() - started:.0f}s)")
            if simulator.run_id is not None:
                path = records / f"{len(list(records.glob('[0-9]*.html'))) + 1:02d}.html"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(_record_page(simulator.run_id), encoding="utf-8")
                result["record"] = str(path)
                result["hire"] = _hire_of(simulator.run_id)

        with err.status("playing the example scenarios in virtual time…"):
            results = _play(files, workdir, api_url, done)
        _write_record_index(records, results)
        _print_verdicts(results)
        ui = api_url.removesuffix("/api")
        console.print(escape(f"\nPrefect UI (runs, tags, artifacts): {ui}/runs"))
        console.print(escape(f"Training records: {records / 'index.html'}"))
        if keep and stack is not None:
            console.print("The demo's Prefect server keeps running; Ctrl-C stops it.")
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
        elif stack is not None:
            console.print("(the demo's Prefect server stops now; `--keep` leaves it running)")
    except KeyboardInterrupt:
        pass
    finally:
        if stack is not None:
            stack.stop()
    if not all(r.get("ok") for r in results):
        raise typer.Exit(1)


def _record_page(run_id: int) -> str:
    """The training record of a run as a standalone HTML page (the HR page's template)."""
    from tasks.i18n import gettext, jinja_env
    from tasks.reports.record import run_timeline

    locale = get_settings().default_locale
    timeline = run_timeline(run_id, locale)
    page = jinja_env(locale, "forms").get_template("record.html")
    html = page.render(lang="zh-CN" if locale != "en" else "en", timeline=timeline)
    # A file has no forms app behind it: its way back is the demo's own index page.
    all_runs = gettext(locale, "All runs")  # outside the f-string, where Babel finds it
    back = f'<p><a href="index.html">{all_runs}</a></p>'
    return html.replace("<main>", f"<main>{back}", 1)


def _hire_of(run_id: int) -> str:
    """The hire's name of a played run."""
    from storage import repo
    from tasks.env import transaction

    with transaction() as session:
        return repo.get_run(session=session, run_id=run_id).hire.name


def _write_record_index(records: Path, results: list[dict]) -> None:
    """records/index.html: every played hire and their verdict, linking to their record."""
    from html import escape

    from tasks.reports.relay import verdict_name

    rows = "".join(
        f'<li><a href="{escape(Path(r["record"]).name)}">{escape(r["hire"])}</a> · '
        f'{escape(verdict_name(r.get("outcome", "?")))}<br>'
        f'<small>{escape(r["name"])}</small></li>' for r in results if r.get("record"))
    records.mkdir(parents=True, exist_ok=True)
    (records / "index.html").write_text(
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<title>Jieli 接力 · demo</title></head>'
        '<body style="font-family: sans-serif; line-height: 1.8; padding: 16px">'
        f"<h1>Jieli 接力 · demo</h1><ul>{rows}</ul></body></html>", encoding="utf-8")


def _finding(f: dict) -> str:
    """客户沟通情景模拟：实操辅导不足 → 市场部: a finding of a played scenario, by name."""
    n = _names()
    return _("%(item)s: %(cause)s → %(responsible)s") % {
        "item": n.appraisal_item(f["item"]), "cause": n.cause(f["cause"]),
        "responsible": n.party(f["responsible"])}


def _print_verdicts(results: list[dict]) -> None:
    from tasks.reports.relay import verdict_name

    n = _names()
    verdicts = _table(N_("Probation verdicts"), (
        N_("Scenario"), N_("Verdict"), N_("Findings: cause → responsible"), N_("Remedial"),
        N_("As expected")))
    accountable: dict[str, list[str]] = {}
    for r in results:
        findings = "\n".join(_finding(f) for f in r.get("findings", []))
        verdicts.add_row(*_row(r["name"], verdict_name(r.get("outcome", "?")), findings or "—",
                               n.modules(r.get("remedial", [])) or "—",
                               _("yes") if r.get("ok") else
                               _("NO: %(error)s") % {"error": r.get("error", "")}))
        for f in r.get("findings", []):
            accountable.setdefault(n.party(f["responsible"]), []).append(
                f"{n.cause(f['cause'])} ({r['name']})")
    console.print(verdicts)
    summary = _table(N_("Accountability by department"), (
        N_("Responsible"), N_("Failed items"), N_("Causes")))
    for party, causes in sorted(accountable.items()):
        summary.add_row(*_row(party, len(causes), "\n".join(causes)))
    console.print(summary)



class _Bar:
    """A progress bar on stderr for files of more than BAR_FROM rows (one line per phase)."""

    BAR_FROM = 1000

    def __init__(self) -> None:
        from rich.progress import Progress

        self.progress = Progress(console=err, transient=False)
        self.tasks: dict[str, Any] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if total <= self.BAR_FROM:
            return
        if phase not in self.tasks:
            if not self.tasks:
                self.progress.start()
            self.tasks[phase] = self.progress.add_task(_(phase), total=total)
        self.progress.update(self.tasks[phase], completed=done)

    def stop(self) -> None:
        if self.tasks:
            self.progress.stop()


@app.command("import")
def import_(
    ctx: typer.Context,
    kind: Annotated[ImportKind, typer.Argument(help="What the file holds")],
    file: Annotated[Path, typer.Argument(help="A CSV (UTF-8 or GB18030) or XLSX file",
                                         exists=True, dir_okay=False)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every row, change nothing; "
                                          "exit 1 when a row is bad")] = False,
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Import the good rows and list "
                                           "the bad ones")] = False,
) -> None:
    """Move in from the old system: employees, training history, monthly metrics, rewards.

    Columns are named in Chinese or English (工号/employee_id, 姓名/name, 邮箱/email,
    部门/department, 岗位/position, 入职日期/hired_on; 模块/module, 完成日期/completed_on,
    成绩/score; 月份/month, 指标/metric, 数值/value; 日期/date, 类型/kind, 说明/note).
    Without --skip-bad one bad row means nothing is imported. Importing the same file again
    changes nothing; a row whose key is stored with other values updates it.
    """
    from tasks.importing import UnreadableFile, import_file
    from tasks.permissions import NotPermitted

    by = _acting_as(ctx)
    locale = get_settings().default_locale
    bar = _Bar()
    try:
        report = import_file(kind=kind, path=file, by_email=by, locale=locale,
                             dry_run=dry_run, skip_bad=skip_bad, progress=bar)
    except NotPermitted as exc:
        raise _refused(exc) from None
    except UnreadableFile as exc:
        raise _fail(f"{file}: {exc.told(locale)}") from None
    finally:
        bar.stop()
    for problem in report.problems:
        typer.echo(problem.told(locale), err=True)
    counts = {"file": file.name, "rows": report.rows, "bad": len(report.bad_lines),
              "added": report.added, "updated": report.updated,
              "unchanged": report.unchanged}
    if report.columns_missing:
        raise _fail(_("%(file)s lacks the columns listed above: nothing was "
                      "changed.") % counts)
    if not report.written:
        if dry_run:
            console.print(escape(_("Dry run of %(file)s: %(rows)s rows, %(bad)s bad; it would "
                                   "add %(added)s, update %(updated)s and leave %(unchanged)s "
                                   "as they are. Nothing was changed.") % counts))
        else:
            console.print(escape(_("%(file)s: %(bad)s bad row(s), so nothing was imported. "
                                   "Correct them, or import the good rows with --skip-bad.")
                                 % counts))
        if report.problems:
            raise typer.Exit(1)
        return
    console.print(escape(_("Imported %(file)s: %(added)s added, %(updated)s updated, "
                           "%(unchanged)s already there.") % counts))
    if report.bad_lines:
        console.print(escape(_("%(bad)s bad row(s) skipped, lines: %(lines)s") % {
            "bad": len(report.bad_lines), "lines": ", ".join(map(str, report.bad_lines))}))


@report_app.command("effectiveness")
def report_effectiveness(
    ctx: typer.Context,
    module: Annotated[str, typer.Option("--module", metavar="CODE",
                                        help="The module's code (jieli catalog show)")],
    metric: Annotated[str, typer.Option("--metric", metavar="NAME",
                                        help="A metric of the imported monthly figures")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON")] = False,
) -> None:
    """Does a module pay off? The metric of employees who completed it against the others',
    and each completer's before against after; with a caution when the figures may mislead.

    Imported training history counts as completing the module, like a quiz passed in Jieli.
    Exit 2 for an unknown module or metric (the known ones are listed).
    """
    import json

    from tasks.permissions import NotPermitted
    from tasks.reports.effectiveness import (
        UnknownMetric,
        UnknownModule,
        measure,
        shown_lift,
        shown_mean,
    )

    locale, n = get_settings().default_locale, _names()
    try:
        found = measure(module=module, metric=metric, locale=locale, by_email=_acting_as(ctx))
    except NotPermitted as exc:
        raise _refused(exc) from None
    except UnknownModule as exc:
        raise _fail(_("%(module)s is not a module of the catalog; the modules are: %(known)s")
                    % {"module": module, "known": n.join(
                        _("%(name)s (%(code)s)") % {"name": n.module(c), "code": c}
                        for c in exc.known)}, REFUSED) from None
    except UnknownMetric as exc:
        raise _fail(_("No imported monthly figure is named %(metric)s; the metrics are: "
                      "%(known)s") % {"metric": metric, "known": n.join(exc.known) or "—"},
                    REFUSED) from None
    if as_json:
        typer.echo(json.dumps(found.model_dump(), ensure_ascii=False, indent=2))
        return
    table = Table(title=_("Training effectiveness: %(module)s · %(metric)s") % {
        "module": n.module(module), "metric": metric})
    table.add_column(_("Group"))
    table.add_column(_("Employees"), justify="right")
    table.add_column(_("Monthly mean"), justify="right")
    for who, count, mean in (
            (N_("Completed it (months after completing)"), found.completed_n,
             found.completed_mean),
            (N_("Did not complete it"), found.not_completed_n, found.not_completed_mean),
            (N_("Completers, before completing"), found.before_after_n, found.before_mean),
            (N_("Completers, after completing"), found.before_after_n, found.after_mean)):
        table.add_row(*_row(_(who), count, shown_mean(mean, locale)))
    console.print(table)
    console.print(escape(_("Lift: %(lift)s against those who did not complete it") % {
        "lift": shown_lift(found.lift_pct)}))
    if found.completed_imported_n:
        console.print(escape(_("%(count)s of the completers completed it in the old system "
                               "(imported training history).") % {
                                   "count": found.completed_imported_n}))
    if found.caution:
        caution = _("Caution: %(caution)s") % {"caution": found.caution}
        console.print(f"[yellow]{escape(caution)}[/yellow]", soft_wrap=True)


@app.command("revoke-sessions")
def revoke_sessions(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The address whose HR sessions end now")],
) -> None:
    """Sign an address out everywhere (a lost laptop, a person who left); audited."""
    from tasks.sign_in import revoke_sessions as revoke

    by = _may_track(ctx)
    try:
        ended = revoke(email, by=by)
    except LookupError as exc:
        raise _fail(str(exc).strip("'\"")) from None
    console.print(escape(_("%(email)s: %(count)d session(s) revoked") % {
        "email": email, "count": ended}))


@app.command()
def outbox(
    ctx: typer.Context,
    send: Annotated[bool, typer.Option(
        "--send", help="Send every waiting message now, retries not yet due included")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Include messages already sent")] = False,
) -> None:
    """Show the outbox: messages waiting, retrying or failed (and sent, with --all)."""
    from sqlalchemy import select

    from storage.models import OutboxMessage, OutboxStatus
    from tasks.dates import spoken_time
    from tasks.email import send_pending_mail
    from tasks.env import reading

    _may_track(ctx)
    if send:
        console.print(escape(_("outbox: %(result)s") % {
            "result": send_pending_mail(retries_too=True)}))
    with reading() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if not all_:
            query = query.where(OutboxMessage.status != OutboxStatus.SENT)
        messages = list(session.scalars(query))
    n, locale = _names(), get_settings().default_locale
    table = _table(N_("Outbox"), ("#", N_("State"), N_("To"), N_("Subject"), N_("Tries"),
                                  N_("Resent"), N_("Next try / sent"), N_("Last error")))
    for m in messages:
        when = m.sent_at or m.next_attempt_at
        # A resend is an interrupted send taken up again with the same Message-ID.
        table.add_row(*_row(m.id, n.outbox_state(m.status), m.to_addr, m.subject, m.attempts,
                            f"×{m.resends}" if m.resends else "",
                            spoken_time(when, locale) if when else "", m.last_error or ""))
    console.print(table if messages else _("Outbox: nothing waiting or failed"))


@app.command()
def runs(ctx: typer.Context) -> None:
    """List runs: hire, position, state, who blocks it and since when."""
    from uuid import UUID

    from storage import clock, repo
    from storage.models import RunStatus
    from tasks.dates import spoken_day
    from tasks.env import reading
    from tasks.reports.relay import view_run, waiting_for
    from tasks.runs import UNREACHABLE, prefect_client

    _may_track(ctx)
    now = clock.now()
    locale = get_settings().default_locale
    with reading() as session:
        rows = [(run, run.hire.name, view_run(session=session, run=run, now=now, locale=locale))
                for run in repo.active_runs(session=session)]
    states: dict[str, str] = {}
    try:
        with prefect_client() as client:
            for run, _hire, _view in rows:
                if run.flow_run_id:
                    fr = client.read_flow_run(UUID(run.flow_run_id))
                    states[run.flow_run_id] = str(fr.state.name) if fr.state else "?"
    except UNREACHABLE:
        err.print("[yellow]Prefect unreachable: states from storage only[/yellow]")
    n = _names()
    table = _table(N_("Onboarding runs"), (
        "#", N_("Hire"), N_("Position"), N_("State"), N_("Waiting for"), N_("Waiting since"),
        N_("Overdue"), N_("Needs attention")))
    for run, hire_name, view in rows:
        prefect_state = states.get(run.flow_run_id or "")
        state = n.run_state(run.status) if run.flow_run_id else _("Not in Prefect yet")
        if prefect_state and run.status == RunStatus.ACTIVE:
            state = _(PREFECT_STATES[prefect_state]) if prefect_state in PREFECT_STATES \
                else prefect_state
        if run.status == RunStatus.CANCELLED:
            state = _("Cancelled in Prefect (jieli resume %(run)s)") % {
                "run": run.id}
        blocked = "\n".join(waiting_for([b], locale) for b in view.blockers)
        since = "\n".join(spoken_day(b.since, locale) for b in view.blockers)
        overdue = "\n".join(_("%(days)s day(s) overdue") % {"days": b.days_overdue}
                            if b.days_overdue else "" for b in view.blockers)
        # Passes failed the same way too often: retries stopped until `jieli resume <run>`.
        attention = (_("Stopped %(day)s: %(error)s; to try again: jieli resume %(run)s") % {
            "day": spoken_day(run.attention_at, locale),
            "error": (run.failures or [{}])[-1].get("error", ""), "run": run.id}
            if run.attention_at else "")
        table.add_row(*_row(run.id, hire_name, n.position(run.position_code), state,
                            blocked or "—", since, overdue, attention))
    console.print(table)


if __name__ == "__main__":
    app()
