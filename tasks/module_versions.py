"""A module's materials as its department keeps them: versions, none ever deleted.

- A version of a module's materials is a hand-off (a `Delivery` with all of its materials).
  The first is the department's hand-off (tasks/handoff.py). Each later change, one material
  replaced or added (a file or a link) or one archived, is a new Delivery that carries the
  other materials over unchanged (the same stored file or link). So `repo.latest_delivery`
  stays the current version, the one hires study, and every earlier version stays as it was:
  no delivery, item or file is ever deleted. Archiving a material only leaves it out of the
  next versions; it can be put back with a new file or link. Versions are numbered per module
  in the order they were made (1: the first hand-off).
- Only the module's owner may change it (HR for the general modules): action `edit-module` of
  the permission matrix, checked by `check` in every function here, each refusal audited. Each
  change is audited too (`material-replaced`, `material-added`, `material-archived`).
- The hires studying the module (an assignment still `assigned`, in an active run) are emailed
  once per new version (outbox key `material-version:<delivery>:<assignment>`): what changed,
  and their study link. Each quiz attempt records the version current when it was taken
  (tasks/learning.take_quiz), which the training record shows (`studied_line`).
- A module never handed off has no version to change: its first comes from the hand-off form
  of the owner's email (a version of one material would let hires start with the rest
  missing).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import clock, repo
from storage.models import (
    Assignment,
    AssignmentStatus,
    DeliveredMaterial,
    Delivery,
    Person,
    QuizAttempt,
    Run,
    RunStatus,
)
from tasks.dates import spoken_day
from tasks.email import Recipient, render, send_pending_mail
from tasks.env import get_catalog, reading, transaction
from tasks.handoff import DeliveryOutcome, resume_unblocked, waiting_hires
from tasks.i18n import gettext, normalize_locale
from tasks.labels import names
from tasks.learning import study_link
from tasks.materials import Upload, placed_uploads
from tasks.permissions import check, module_target
from tasks.quizzes import QuizOf, current_quiz_in, quiz_history

ADDED_PREFIX = "added-"  # the code of a material its owner added beyond the catalog's list
MAX_TITLE_CHARS = 200


class NoVersionYet(Exception):
    """The module's materials were never handed off: its first version is the hand-off."""


class LastMaterial(Exception):
    """Archiving the only material would leave a version with nothing to study."""


class UnknownMaterial(LookupError):
    """Neither the catalog nor any version of the module has this material."""


def material_title(module_code: str, code: str, stored: str | None, locale: str) -> str:
    """A material's name: the catalog's, or the title its owner gave a material they added."""
    found = next((m for m in get_catalog().modules[module_code].materials if m.code == code), None)
    return found.title.get(normalize_locale(locale)) if found else stored or code


# --- reading the versions ------------------------------------------------------------------


@dataclass(frozen=True)
class VersionItem:
    """One material of a version."""

    id: int
    code: str
    title: str
    file_name: str | None
    link: str | None
    size_bytes: int | None
    change: str = ""  # replaced | added in this version; "" carried over (or version 1)


@dataclass(frozen=True)
class MaterialsVersion:
    number: int
    delivery_id: int
    at: datetime
    by: str
    note: str
    items: list[VersionItem]
    archived: list[str] = field(default_factory=list)  # materials this version left out


def _deliveries(session: Session, module_code: str) -> list[Delivery]:
    """The module's versions, oldest first (the same order as `repo.latest_delivery`)."""
    return list(session.scalars(select(Delivery).where(Delivery.module_code == module_code)
                                .order_by(Delivery.delivered_at, Delivery.id)))


def _same(a: DeliveredMaterial, b: DeliveredMaterial) -> bool:
    return (a.file_path, a.link, a.title) == (b.file_path, b.link, b.title)


def _versions_in(session: Session, module_code: str, locale: str) -> list[MaterialsVersion]:
    """Every version, oldest first, each material marked with what this version changed."""
    versions: list[MaterialsVersion] = []
    before: dict[str, DeliveredMaterial] = {}
    for number, delivery in enumerate(_deliveries(session, module_code), 1):
        items = []
        for item in delivery.items:
            earlier = before.get(item.material_code)
            change = "" if number == 1 or (earlier is not None and _same(earlier, item)) \
                else "replaced" if earlier is not None else "added"
            items.append(VersionItem(item.id, item.material_code, material_title(
                module_code, item.material_code, item.title, locale), item.file_name,
                item.link, item.size_bytes, change))
        kept = {item.material_code for item in delivery.items}
        archived = [material_title(module_code, code, item.title, locale)
                    for code, item in before.items() if code not in kept]
        versions.append(MaterialsVersion(number, delivery.id, delivery.delivered_at,
                                         delivery.delivered_by.name, delivery.note, items,
                                         archived))
        before = {item.material_code: item for item in delivery.items}
    return versions


@dataclass(frozen=True)
class StudyingHire:
    name: str
    position: str
    due: str
    attempts: int  # quiz attempts used so far


def _studying(session: Session, module_code: str, locale: str) -> list[StudyingHire]:
    lang = normalize_locale(locale)
    used = (select(func.count()).select_from(QuizAttempt)
            .where(QuizAttempt.assignment_id == Assignment.id).scalar_subquery())
    rows = session.execute(
        select(Assignment, Run, used).join(Run, Run.id == Assignment.run_id)
        .where(Assignment.module_code == module_code,
               Assignment.status == AssignmentStatus.ASSIGNED, Run.status == RunStatus.ACTIVE)
        .order_by(Assignment.due_at, Assignment.id)).all()
    return [StudyingHire(run.hire.name, run.plan.position.title.get(lang),
                         spoken_day(assignment.due_at, locale), attempts)
            for assignment, run, attempts in rows]


@dataclass(frozen=True)
class ModuleView:
    """A module as its owner's pages show it: versions (newest first), quiz, hires."""

    code: str
    title: str
    department: str
    general: bool
    versions: list[MaterialsVersion]
    missing: list[dict[str, str]]  # catalog materials the current version lacks (archived)
    quiz: QuizOf
    quiz_versions: list[QuizOf]
    waiting: list[dict[str, str]]  # hires waiting on the module's hand-off
    studying: list[StudyingHire]

    @property
    def current(self) -> MaterialsVersion | None:
        return self.versions[0] if self.versions else None


def module_view(module_code: str, locale: str) -> ModuleView:
    """The module's page as its owner reads it (checked by the callers)."""
    module = get_catalog().modules[module_code]
    n = names(locale)
    with reading() as session:
        versions = _versions_in(session, module_code, locale)
        quiz = current_quiz_in(session, module_code)
        studying = _studying(session, module_code, locale)
    have = {item.code for item in versions[-1].items} if versions else set()
    missing = [{"code": m.code, "title": m.title.get(n.lang)} for m in module.materials
               if versions and m.code not in have]
    return ModuleView(module_code, n.module(module_code), n.department(module.owner),
                      module.kind.value == "general", versions[::-1], missing, quiz,
                      quiz_history(module_code), waiting_hires(module_code, locale), studying)


def check_owner(module_code: str, *, by_email: str, via: str,
                action: str = "edit-module") -> None:
    """Let the module's owner keep its materials (`edit-module`) or quiz (`edit-quiz`);
    NotPermitted, audited, for anyone else."""
    if module_code not in get_catalog().modules:
        raise LookupError(f"unknown module {module_code!r}")
    check(action=action, target=module_target(module_code), via=via, by_email=by_email)


def _check(module_code: str, by_email: str, via: str) -> None:
    check_owner(module_code, by_email=by_email, via=via)


def open_module(module_code: str, *, by_email: str, via: str, locale: str) -> ModuleView:
    """The module's page for its owner; NotPermitted (audited) for anyone else."""
    _check(module_code, by_email, via)
    return module_view(module_code, locale)


def owned_modules(email: str, locale: str) -> list[ModuleView]:
    """The modules of every department whose materials the address owns (HR: the general
    ones), in the catalog's order."""
    catalog = get_catalog()
    owned = {d.code for d in catalog.departments.values()
             if d.owner.email.lower() == email.strip().lower()}
    return [module_view(code, locale) for code, m in catalog.modules.items() if m.owner in owned]


@dataclass(frozen=True)
class MaterialHistory:
    """One material through the versions: each version where it came, changed or went."""

    module: ModuleView
    code: str
    title: str
    current: VersionItem | None  # None: archived (or never handed off)
    changes: list[tuple[MaterialsVersion, VersionItem | None]]  # newest first; None: archived


def open_material(module_code: str, material_code: str, *, by_email: str, via: str,
                  locale: str) -> MaterialHistory:
    """A material's page for its module's owner; UnknownMaterial, NotPermitted (audited)."""
    _check(module_code, by_email, via)
    view = module_view(module_code, locale)
    # Titles come from the versions (an added material's is stored there) or the catalog.
    title = next((i.title for v in view.versions for i in v.items if i.code == material_code),
                 None)
    if title is None and material_code not in {
            m.code for m in get_catalog().modules[module_code].materials}:
        raise UnknownMaterial(material_code)
    title = title or material_title(module_code, material_code, None, locale)
    changes: list[tuple[MaterialsVersion, VersionItem | None]] = []
    before: VersionItem | None = None
    for version in reversed(view.versions):
        item = next((i for i in version.items if i.code == material_code), None)
        if (item is None) != (before is None) or (item is not None and item.change):
            changes.append((version, item))
        before = item
    current = view.current
    return MaterialHistory(view, material_code, title,
                           next((i for i in current.items if i.code == material_code), None)
                           if current else None, changes[::-1])


def version_file(module_code: str, item_id: int, *, by_email: str,
                 via: str) -> tuple[str, str] | None:
    """(path, name) of a file of any version of the module, for its owner to download."""
    _check(module_code, by_email, via)
    with reading() as session:
        item = session.get(DeliveredMaterial, item_id)
        delivery = session.get(Delivery, item.delivery_id) if item else None
        if item is None or delivery is None or delivery.module_code != module_code \
                or not item.file_path:
            return None
        return item.file_path, item.file_name or ""


# --- making a new version ------------------------------------------------------------------


@dataclass(frozen=True)
class NewVersion:
    module: str
    number: int
    delivery_id: int
    change: str  # replaced | added | archived
    material: str  # the material's code
    emailed: list[str]  # outbox keys of the emails to the hires studying it, to send now
    outcome: DeliveryOutcome

    def send_mail(self) -> None:
        """Send the emails to the studying hires (after answering; the sweep retries)."""
        for key in self.emailed:
            send_pending_mail(key=key)


@dataclass(frozen=True)
class _Put:
    code: str
    upload: Upload | None
    link: str | None
    title: str | None  # of an added material


def replace_material(*, module_code: str, material_code: str, by_email: str, via: str,
                     upload: Upload | None = None, link: str | None = None,
                     note: str = "") -> NewVersion:
    """A new version in which this material is the file or link given (put back, if an earlier
    version archived it); the other materials carried over."""
    _check(module_code, by_email, via)
    known = {m.code for m in get_catalog().modules[module_code].materials}
    with reading() as session:
        known |= set(session.scalars(
            select(DeliveredMaterial.material_code).join(Delivery)
            .where(Delivery.module_code == module_code)))
    if material_code not in known:
        raise UnknownMaterial(material_code)
    return _record(module_code, by_email, via, "replaced", note=note, put=_Put(
        material_code, upload and dataclasses.replace(upload, material_code=material_code),
        link, None))


def add_material(*, module_code: str, title: str, by_email: str, via: str,
                 upload: Upload | None = None, link: str | None = None,
                 note: str = "") -> NewVersion:
    """A new version with one more material, named by its owner, beyond the catalog's list."""
    _check(module_code, by_email, via)
    code = f"{ADDED_PREFIX}{secrets.token_hex(4)}"
    return _record(module_code, by_email, via, "added", note=note, put=_Put(
        code, upload and dataclasses.replace(upload, material_code=code), link,
        title.strip()[:MAX_TITLE_CHARS]))


def archive_material(*, module_code: str, material_code: str, by_email: str,
                     via: str) -> NewVersion:
    """A new version without this material (earlier versions keep it)."""
    _check(module_code, by_email, via)
    return _record(module_code, by_email, via, "archived", drop=material_code)


def _record(module_code: str, by_email: str, via: str, change: str, *, note: str = "",
            put: _Put | None = None, drop: str | None = None) -> NewVersion:
    """Record the next version: the current one's materials with `put` in and `drop` out; email
    the studying hires; the new files move into place once it is committed."""
    now = clock.now()
    order = [m.code for m in get_catalog().modules[module_code].materials]
    # The transaction commits first, then the new file moves into place (none if it fails).
    with placed_uploads(module_code, [put.upload] if put and put.upload else []) as placed, \
            transaction() as session:
        person = repo.person_by_email(session=session, email=by_email)
        if person is None:
            raise LookupError(f"{by_email} is not in storage")
        repo.lock_module(session=session, module_code=module_code)
        current = repo.latest_delivery(session=session, module_code=module_code)
        if current is None:
            raise NoVersionYet(module_code)
        codes = [i.material_code for i in current.items]
        if drop is not None and drop not in codes:
            raise UnknownMaterial(drop)
        if drop is not None and len(codes) == 1:
            raise LastMaterial(drop)
        items = [_carried(i) for i in current.items
                 if i.material_code != drop and (put is None or i.material_code != put.code)]
        if put is not None:
            new = placed[0] if placed else repo.MaterialItem(material_code=put.code,
                                                             link=put.link)
            # An added material keeps the title its owner gave it when it is replaced.
            items.append(dataclasses.replace(new, title=put.title or _stored_title(
                session, module_code, put.code)))
        # The catalog's materials in its order; added ones after, in the order they came.
        position = {code: n for n, code in enumerate(order)}
        items.sort(key=lambda i: position.get(i.material_code, len(order)))
        delivery, unblocked = repo.record_delivery(
            session=session, module_code=module_code, by=person, now=now, via=via,
            items=items, note=note.strip() or current.note)
        number = len(_deliveries(session, module_code))
        code = put.code if put is not None else drop or ""
        stored_title = _stored_title(session, module_code, code)
        keys = _tell_studying(
            session, module_code=module_code, delivery_id=delivery.id, number=number,
            change=change, by=person, note=note.strip(), now=now,
            title_in=lambda lang: material_title(module_code, code, stored_title, lang))
        repo.audit(session=session, actor=person.email, action=f"material-{change}",
                   object_type="module", object_id=module_code, via=via, now=now,
                   detail={"delivery": delivery.id, "version": number, "material": code,
                           "emailed": len(keys)})
        outcome = DeliveryOutcome(delivery_id=delivery.id, module=module_code,
                                  unblocked=unblocked)
    return NewVersion(module_code, number, delivery.id, change, code, keys,
                      resume_unblocked(outcome))


def _stored_title(session: Session, module_code: str, code: str) -> str | None:
    """The title its owner gave an added material (None for the catalog's)."""
    return session.scalar(
        select(DeliveredMaterial.title).join(Delivery)
        .where(Delivery.module_code == module_code, DeliveredMaterial.material_code == code,
               DeliveredMaterial.title.is_not(None))
        .order_by(DeliveredMaterial.id.desc()).limit(1))


def _carried(item: DeliveredMaterial) -> repo.MaterialItem:
    """A material of the current version, unchanged in the next (the same file or link)."""
    return repo.MaterialItem(material_code=item.material_code, link=item.link,
                             file_name=item.file_name, file_path=item.file_path,
                             size_bytes=item.size_bytes, content_type=item.content_type,
                             title=item.title)


def _tell_studying(session: Session, *, module_code: str, delivery_id: int, number: int,
                   change: str, by: Person, note: str, now: datetime,
                   title_in: Callable[[str], str]) -> list[str]:
    """Queue one email to each hire studying the module about the new version; their keys."""
    department = get_catalog().modules[module_code].owner
    rows = session.execute(
        select(Assignment, Run).join(Run, Run.id == Assignment.run_id)
        .where(Assignment.module_code == module_code,
               Assignment.status == AssignmentStatus.ASSIGNED, Run.status == RunStatus.ACTIVE)
        .order_by(Assignment.id)).all()
    keys = []
    for assignment, run in rows:
        hire = run.hire
        lang = normalize_locale(hire.locale)
        n = names(lang)
        message = render(
            "material_update", to=Recipient(hire.name, hire.email, hire.locale),
            module=n.module(module_code), version=number, change=change,
            material=title_in(lang), by=n.member(department, by.name), note=note,
            due=spoken_day(assignment.due_at, lang),
            link=study_link(person_id=hire.id, assignment_id=assignment.id))
        key = f"material-version:{delivery_id}:{assignment.id}"
        if repo.queue_message(session=session, key=key, run_id=run.id, kind="material-update",
                              message=message, now=now):
            keys.append(key)
    return keys


# --- the training record -------------------------------------------------------------------


def studied_line(session: Session, assignment_id: int, module_code: str, locale: str) -> str:
    """Which materials version and quiz version the hire's attempts were on ("" before any
    attempt, or for attempts recorded before versions were)."""
    attempts = session.execute(
        select(QuizAttempt.delivery_id, QuizAttempt.quiz_version)
        .where(QuizAttempt.assignment_id == assignment_id)
        .order_by(QuizAttempt.attempt_no)).all()
    numbers = {d.id: n for n, d in enumerate(_deliveries(session, module_code), 1)}
    on = [(numbers[d], q or 1) for d, q in attempts if d in numbers]
    if not on:
        return ""
    n = names(locale)
    materials = n.join(str(m) for m in dict.fromkeys(m for m, _ in on))
    quizzes = n.join(str(q) for q in dict.fromkeys(q for _, q in on))
    return gettext(locale, "Studied materials version %(materials)s; answered quiz version "
                   "%(quiz)s") % {"materials": materials, "quiz": quizzes}
