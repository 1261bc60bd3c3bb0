"""The catalog's two homes and one truth: the YAML files and the installation, exported and
imported (`jieli catalog export DIR`, `jieli catalog import DIR [--dry-run]`).

- The YAML catalog seeds an empty installation (`jieli db upgrade`: `repo.sync_catalog`). After
  that the department pages change two things in storage, never in the YAML: a module's quiz
  (versions in `quiz_versions`, tasks/quizzes.py) and its materials (each version a delivery,
  tasks/module_versions.py). `installed_catalog` is the catalog as the installation has it now:
  the YAML one with each module's newest quiz and its materials as the pages left them.
- Materials, as exported: the catalog's, minus those archived on the pages since that catalog
  was installed (left out, not marked: the schema stays the one `jieli catalog check` knows),
  plus those added on the pages that the current version holds (the one title their owner gave,
  in both languages). The files and links stay the departments': an installation importing the
  export asks for them by hand-off. A version always holds one material at least (the pages
  refuse to archive the last), and should the rule leave none, the catalog's list is exported:
  the list is never empty.
- Export writes the five files, each with a header saying it was exported, when, by whom, from
  which installation, and checks what it wrote with `load_catalog` (as `jieli catalog check`
  does). A directory that is not empty is refused unless `force`: then the five files are
  written over and any other file (a `.git`) is left alone.
- Import checks the directory as `jieli catalog check` does (every error, nothing changed), then
  refuses to drop a module or a department that a run in progress holds: `runs.plan` is a
  snapshot taken at the run's start and is never touched, so a run keeps its modules, pass
  marks and attempts, but the pages and passes still look its modules up in the catalog. Then,
  in one transaction: the tables are synced (`sync_catalog`), each quiz that differs from the
  module's current version is stored as the next version by the importer (a module never edited
  first gets the catalog quiz it replaces stored as version 1, so that attempts on version 1
  keep their questions), and the import is audited (`catalog-imported`, and `quiz-imported`
  per quiz). A dry run computes the same changes in a read transaction and writes nothing.
- Where the imported catalog lives: a copy of the five files in `<data dir>/catalogs/NNNN-<time>/`
  (earlier ones kept), named by `catalogs/CURRENT`, which is replaced whole once the transaction
  has committed (tasks/env.py). Files rather than a table: the catalog is read on nearly every
  call of every process, and a `stat` of CURRENT tells each process (forms app, runner, passes,
  CLI) that it changed, with no migration and no polling of the database; the data directory
  is already shared by every part (the materials' files live there). Its comments travel with
  it. The one thing read only at a process's start is the list of positions in Prefect's run
  form (flows/start.py): the import says to restart `jieli up` when positions change.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from storage import clock, repo
from storage.catalog import (
    CATALOG_FILES,
    Catalog,
    CatalogError,
    CatalogInvalid,
    DepartmentsFile,
    Material,
    Module,
    ModulesFile,
    PositionsFile,
    Text,
    load_catalog,
)
from storage.models import Assignment, AuditEntry, Delivery, QuizVersion, Run, RunStatus
from storage.settings import get_settings
from tasks.env import catalog_pointer, get_catalog, reading, transaction
from tasks.i18n import N_, gettext
from tasks.labels import names
from tasks.module_versions import ADDED_PREFIX
from tasks.permissions import Target, check
from tasks.quizzes import CATALOG_VERSION, QuizOf, current_quiz_in

CATALOG = Target("area", "catalog", "hr")  # action `plan`: HR's, in the matrix
IMPORTED = "catalog-imported"  # the audit action of an import
# A module's parts, as the changes name them (the quiz is told apart, with its versions).
MODULE_PARTS = {"title": N_("name"), "kind": N_("kind"), "owner": N_("owner"),
                "materials": N_("materials"), "study_days": N_("study days"),
                "raci": N_("RACI"), "practice": N_("practice legs")}


# --- the catalog as the installation has it ----------------------------------------------


@dataclass(frozen=True)
class Installed:
    """The catalog in use with what the department pages changed applied."""

    catalog: Catalog  # the YAML catalog in use
    modules: dict[str, Module]  # each with its current quiz and materials
    quizzes: dict[str, QuizOf]  # each module's current quiz version
    archived: dict[str, list[str]]  # module -> its catalog materials archived on the pages
    added: dict[str, list[str]]  # module -> materials added on the pages


def _installed_at(session: Session) -> datetime | None:
    """When the catalog in use was imported (None: it is the one the installation began with)."""
    return session.scalar(select(func.max(AuditEntry.at)).where(AuditEntry.action == IMPORTED))


def _archived(deliveries: list[Delivery], since: datetime | None) -> set[str]:
    """Materials the current version lacks that the version current at `since`, or a later
    one, held: archived on the pages since then (a material put back is held again)."""
    if since is not None:
        before = [d for d in deliveries if d.delivered_at <= since]
        deliveries = before[-1:] + [d for d in deliveries if d.delivered_at > since]
    held = {i.material_code for d in deliveries for i in d.items}
    return held - {i.material_code for i in deliveries[-1].items}


def _materials(session: Session, module: Module,
               since: datetime | None) -> tuple[list[Material], list[str], list[str]]:
    """The module's materials as the pages left them; the archived and the added codes."""
    deliveries = list(session.scalars(select(Delivery).where(Delivery.module_code == module.code)
                                      .order_by(Delivery.delivered_at, Delivery.id)))
    if not deliveries:
        return list(module.materials), [], []
    listed = {m.code for m in module.materials}
    archived = sorted(_archived(deliveries, since) & listed)
    added = [Material(code=i.material_code, title=Text(zh_CN=i.title or i.material_code,
                                                       en=i.title or i.material_code))
             for i in deliveries[-1].items
             if i.material_code.startswith(ADDED_PREFIX) and i.material_code not in listed]
    kept = [m for m in module.materials if m.code not in archived]
    if not kept + added:  # never empty: the catalog requires one material at least
        return list(module.materials), [], []
    return kept + added, archived, [m.code for m in added]


def installed_catalog(session: Session) -> Installed:
    """The installation's catalog now: the YAML one, each module's newest quiz and materials."""
    catalog = get_catalog()
    since = _installed_at(session)
    modules: dict[str, Module] = {}
    quizzes: dict[str, QuizOf] = {}
    archived: dict[str, list[str]] = {}
    added: dict[str, list[str]] = {}
    for code, module in catalog.modules.items():
        quizzes[code] = current_quiz_in(session, code)
        materials, archived[code], added[code] = _materials(session, module, since)
        modules[code] = module.model_copy(update={"quiz": quizzes[code].quiz,
                                                  "materials": materials})
    return Installed(catalog, modules, quizzes, archived, added)


# --- export ------------------------------------------------------------------------------


class DirectoryNotEmpty(Exception):
    """The export's directory holds files already (and `force` was not given)."""


class _Dumper(yaml.SafeDumper):
    """Structure in block style, leaves in flow style ({zh_CN: 企业文化, en: Company culture},
    [culture, rules]) and lists indented, as the shipped catalog is written."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _leaf(value: Any) -> bool:
    return not isinstance(value, dict | list) or (
        isinstance(value, list) and not any(isinstance(v, dict | list) for v in value))


_Dumper.add_representer(dict, lambda dumper, data: dumper.represent_mapping(
    "tag:yaml.org,2002:map", data, flow_style=all(map(_leaf, data.values()))))
_Dumper.add_representer(list, lambda dumper, data: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", data, flow_style=all(
        not isinstance(v, dict | list) for v in data)))


def _contents(installed: Installed) -> dict[str, BaseModel]:
    catalog = installed.catalog
    return {
        "departments.yaml": DepartmentsFile(boss=catalog.boss,
                                            departments=list(catalog.departments.values())),
        "modules.yaml": ModulesFile(modules=list(installed.modules.values())),
        "positions.yaml": PositionsFile(positions=list(catalog.positions.values())),
        "rules.yaml": catalog.rules,
        "permissions.yaml": catalog.permissions,
    }


def _where_from() -> str:
    """The installation, as the header names it: its address and its storage (no password)."""
    settings = get_settings()
    storage = make_url(settings.storage_url).render_as_string(hide_password=True)
    return f"{settings.public_base_url} (storage {storage})"


def _page_changes(installed: Installed) -> list[str]:
    """Header lines of modules.yaml: what the department pages changed, module by module."""
    lines = []
    for code, quiz in installed.quizzes.items():
        if quiz.at is not None:
            lines.append(f"#   {code}: quiz version {quiz.version} "
                         f"({quiz.at:%Y-%m-%d}, {quiz.by})")
        if installed.archived[code]:
            lines.append(f"#   {code}: archived, left out: {', '.join(installed.archived[code])}")
        if installed.added[code]:
            lines.append(f"#   {code}: added: {', '.join(installed.added[code])}")
    if not lines:
        return ["# The department pages changed no quiz and no materials."]
    return ["# What the department pages changed, here applied:", *lines]


def _header(name: str, installed: Installed, by: str, now: datetime) -> str:
    when = now.astimezone(ZoneInfo(get_settings().timezone)).isoformat("T", "seconds")
    lines = [f"# Exported by `jieli catalog export` on {when} by {by},",
             f"# from the installation at {_where_from()},",
             f"# whose catalog was read from {installed.catalog.directory}.",
             "# Check it with `jieli catalog check DIR`; apply it with `jieli catalog import DIR`."]
    if name == "modules.yaml":
        lines += _page_changes(installed)
    return "\n".join(lines) + "\n"


def catalog_yaml(model: BaseModel) -> str:
    """One catalog file's YAML: Chinese kept readable, leaves on one line each."""
    return yaml.dump(model.model_dump(mode="json", exclude_none=True), Dumper=_Dumper,
                     allow_unicode=True, sort_keys=False, width=10_000)


@dataclass(frozen=True)
class Exported:
    directory: Path
    files: list[str]
    catalog: Catalog  # as read back from the directory


def export_catalog(directory: Path, *, by_email: str, via: str = "cli",
                   force: bool = False) -> Exported:
    """Write the installation's catalog into `directory` as the five YAML files; NotPermitted
    (audited) unless the person may `plan`, DirectoryNotEmpty unless `force`."""
    by = check(action="plan", target=CATALOG, via=via, by_email=by_email)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())) and not force:
        raise DirectoryNotEmpty(str(directory))
    with reading() as session:
        installed = installed_catalog(session)
    now = clock.now()
    directory.mkdir(parents=True, exist_ok=True)
    for name, model in _contents(installed).items():
        (directory / name).write_text(_header(name, installed, by, now) + catalog_yaml(model),
                                      encoding="utf-8")
    written = load_catalog(directory)  # what `jieli catalog check` would say of it
    with transaction() as session:
        repo.audit(session=session, actor=by, action="catalog-exported", object_type="area",
                   object_id="catalog", via=via, now=now,
                   detail={"directory": str(directory.resolve())})
    return Exported(directory, list(CATALOG_FILES), written)


# --- import ------------------------------------------------------------------------------


def held_by_runs(session: Session, new: Catalog) -> list[CatalogError]:
    """What a run in progress holds that the new catalog would drop: its modules (planned, or
    assigned as remedial) and its position's department."""
    # Not finished: active, or cancelled in Prefect (`jieli resume` brings those back).
    unfinished = Run.status != RunStatus.COMPLETED
    modules: dict[str, set[int]] = {}
    departments: dict[str, set[int]] = {}
    for run in session.scalars(select(Run).where(unfinished)):
        for module in run.plan.modules:
            modules.setdefault(module.code, set()).add(run.id)
        departments.setdefault(run.plan.position.department, set()).add(run.id)
    for code, run_id in session.execute(select(Assignment.module_code, Assignment.run_id)
                                        .join(Run, Run.id == Assignment.run_id)
                                        .where(unfinished)):
        modules.setdefault(code, set()).add(run_id)
    errors = []
    for kind, file, held, known in (("module", "modules.yaml", modules, new.modules),
                                    ("department", "departments.yaml", departments,
                                     new.departments)):
        for code, runs in sorted(held.items()):
            if code not in known:
                errors.append(CatalogError(file, f"{kind}s", (
                    f"{kind} '{code}' is missing, but runs in progress hold it: "
                    f"{', '.join(f'#{r}' for r in sorted(runs))} (a run keeps its plan; drop the "
                    f"{kind} once they are finished)")))
    return errors


def _compared(before: dict[str, Any], after: dict[str, Any]) -> tuple[list[str], list[str],
                                                                      list[str]]:
    """Codes added, removed and changed from `before` to `after`."""
    return ([c for c in after if c not in before], [c for c in before if c not in after],
            [c for c in after if c in before and after[c] != before[c]])


@dataclass
class CatalogChanges:
    """What an import changes, each by code (the module's parts that change, quiz versions)."""

    before: Catalog
    after: Catalog
    modules_added: list[str] = field(default_factory=list)
    modules_removed: list[str] = field(default_factory=list)
    modules_changed: dict[str, list[str]] = field(default_factory=dict)
    quizzes: dict[str, tuple[int, int]] = field(default_factory=dict)  # (current, new) version
    positions_added: list[str] = field(default_factory=list)
    positions_removed: list[str] = field(default_factory=list)
    positions_changed: list[str] = field(default_factory=list)
    departments_added: list[str] = field(default_factory=list)
    departments_removed: list[str] = field(default_factory=list)
    departments_changed: list[str] = field(default_factory=list)
    boss_changed: bool = False
    rules_changed: bool = False
    permissions_changed: bool = False

    def summary(self) -> dict[str, Any]:
        """The changes as the audit log keeps them."""
        return {k: {c: list(q) for c, q in v.items()} if k == "quizzes" else v
                for k, v in vars(self).items() if k not in ("before", "after") and v}

    def told(self, locale: str) -> list[str]:
        """The changes as lines HR reads, names with their codes."""
        old, new = names(locale, self.before), names(locale, self.after)

        def listed(message: str, codes: list[str], name: Any) -> list[str]:
            return [gettext(locale, message) % {"names": new.join(
                gettext(locale, "%(name)s (%(code)s)") % {"name": name(c), "code": c}
                for c in codes)}] if codes else []

        parts = {c: gettext(locale, "%(module)s: %(parts)s") % {
            "module": new.module(c), "parts": new.join(gettext(locale, MODULE_PARTS[p])
                                                       for p in ps)}
            for c, ps in self.modules_changed.items()}
        quizzes = [gettext(locale, "%(module)s: version %(before)s → %(after)s") % {
            "module": new.module(c), "before": b, "after": a} for c, (b, a) in self.quizzes.items()]
        lines = [
            *listed(N_("Modules added: %(names)s"), self.modules_added, new.module),
            *listed(N_("Modules removed: %(names)s"), self.modules_removed, old.module),
            *([gettext(locale, "Modules changed: %(names)s") % {"names": new.join(
                parts.values())}] if parts else []),
            *([gettext(locale, "Quizzes changed: %(names)s") % {"names": new.join(quizzes)}]
              if quizzes else []),
            *listed(N_("Positions added: %(names)s"), self.positions_added, new.position),
            *listed(N_("Positions removed: %(names)s"), self.positions_removed, old.position),
            *listed(N_("Positions changed: %(names)s"), self.positions_changed, new.position),
            *listed(N_("Departments added: %(names)s"), self.departments_added, new.department),
            *listed(N_("Departments removed: %(names)s"), self.departments_removed,
                    old.department),
            *listed(N_("Departments changed: %(names)s"), self.departments_changed,
                    new.department),
            *([gettext(locale, "The boss changes to %(name)s") % {"name": self.after.boss.name}]
              if self.boss_changed else []),
            *([gettext(locale, "The calendar, deadlines or attribution rules change")]
              if self.rules_changed else []),
            *([gettext(locale, "The permission matrix changes")]
              if self.permissions_changed else []),
        ]
        return lines or [gettext(locale, "Nothing changes")]


def compare(installed: Installed, new: Catalog) -> CatalogChanges:
    """What importing `new` changes in the installation as it is now."""
    old = installed.catalog
    changes = CatalogChanges(old, new)
    changes.modules_added, changes.modules_removed, changed = _compared(
        {c: m.model_copy(update={"quiz": None}) for c, m in installed.modules.items()},
        {c: m.model_copy(update={"quiz": None}) for c, m in new.modules.items()})
    for code in changed:
        before, after = installed.modules[code], new.modules[code]
        changes.modules_changed[code] = [p for p in MODULE_PARTS
                                         if getattr(before, p) != getattr(after, p)]
    for code, module in new.modules.items():
        current = installed.quizzes.get(code)
        if current is not None and module.quiz != current.quiz:
            changes.quizzes[code] = (current.version, current.version + 1)
    changes.positions_added, changes.positions_removed, changes.positions_changed = _compared(
        old.positions, new.positions)
    changes.departments_added, changes.departments_removed, changes.departments_changed = \
        _compared(old.departments, new.departments)
    changes.boss_changed = old.boss != new.boss
    changes.rules_changed = old.rules != new.rules
    changes.permissions_changed = old.permissions != new.permissions
    return changes


def _store_quizzes(session: Session, changes: CatalogChanges, installed: Installed, *,
                   by: str, via: str, now: datetime) -> None:
    """Each changed quiz as the module's next version, by the importer (audited)."""
    person = repo.person_by_email(session=session, email=by)
    if person is None:
        raise LookupError(f"{by} is not in storage")
    for code, (before, after) in changes.quizzes.items():
        kept = repo.latest_quiz(session=session, module_code=code) is None
        if kept:
            session.add(QuizVersion(module_code=code, number=CATALOG_VERSION,
                                    quiz=installed.quizzes[code].quiz.model_dump(mode="json"),
                                    created_by_id=person.id, created_at=now))
        session.add(QuizVersion(module_code=code, number=after,
                                quiz=changes.after.modules[code].quiz.model_dump(mode="json"),
                                created_by_id=person.id, created_at=now))
        repo.audit(session=session, actor=by, action="quiz-imported", object_type="module",
                   object_id=code, via=via, now=now,
                   detail={"version": after, "previous": before, "catalog_version_kept": kept,
                           "questions": len(changes.after.modules[code].quiz.questions)})
    session.flush()


def _copy_in(directory: Path) -> Path:
    """A copy of the directory's five files under the data directory, not yet in use."""
    root = catalog_pointer().parent.resolve()
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name[:4]) for p in root.iterdir() if p.is_dir() and p.name[:4].isdigit()]
    place = root / f"{max(numbers, default=0) + 1:04d}-{clock.now():%Y%m%dT%H%M%SZ}"
    place.mkdir()
    for name in CATALOG_FILES:
        shutil.copyfile(directory / name, place / name)
    load_catalog(place)  # the copy is what was checked (a file changed meanwhile is refused)
    return place


def _use(place: Path) -> None:
    """Make `place` the installation's catalog: CURRENT replaced whole, in one rename."""
    pointer = catalog_pointer()
    draft = pointer.with_name(f".{pointer.name}.{os.getpid()}")
    draft.write_text(place.name + "\n", encoding="utf-8")
    os.replace(draft, pointer)


@dataclass(frozen=True)
class Imported:
    changes: CatalogChanges
    installed: Path | None  # the copy the installation reads now; None for a dry run


def import_catalog(directory: Path, *, by_email: str, via: str = "cli",
                   dry_run: bool = False) -> Imported:
    """Apply the catalog in `directory` to the installation (see the module's docstring).

    NotPermitted (audited) unless the person may `plan`; CatalogInvalid with every error of the
    directory, or what runs in progress hold that it drops: then nothing is changed."""
    by = check(action="plan", target=CATALOG, via=via, by_email=by_email)
    new = load_catalog(directory)
    if dry_run:
        with reading() as session:
            errors = held_by_runs(session, new)
            changes = compare(installed_catalog(session), new)
        if errors:
            raise CatalogInvalid(errors)
        return Imported(changes, None)
    place = _copy_in(directory)
    try:
        with transaction() as session:
            for code in get_catalog().modules:  # no quiz saved on the pages meanwhile
                repo.lock_module(session=session, module_code=code)
            errors = held_by_runs(session, new)
            if errors:
                raise CatalogInvalid(errors)
            installed = installed_catalog(session)
            changes = compare(installed, new)
            now = clock.now()
            repo.sync_catalog(session=session, catalog=new)
            _store_quizzes(session, changes, installed, by=by, via=via, now=now)
            repo.audit(session=session, actor=by, action=IMPORTED, object_type="area",
                       object_id="catalog", via=via, now=now,
                       detail={"directory": str(directory.resolve()), "installed": place.name,
                               **changes.summary()})
    except BaseException:
        shutil.rmtree(place, ignore_errors=True)
        raise
    _use(place)
    return Imported(changes, place)
