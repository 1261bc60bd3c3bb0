"""The catalog: departments, modules, positions and rules, as YAML files validated with pydantic.

A catalog is a directory of four files (departments.yaml, modules.yaml, positions.yaml,
rules.yaml). `load_catalog` returns a `Catalog` or raises `CatalogInvalid` carrying every error
found, each naming its file, the path inside it and what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from storage.names import check_email, check_name

DEFAULT_CATALOG_DIR = Path(__file__).parent / "catalog"
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, where PyYAML has it
CATALOG_FILES = ("departments.yaml", "modules.yaml", "positions.yaml", "rules.yaml",
                 "permissions.yaml")
Locale = Literal["zh_CN", "en"]
Code = Field(pattern=r"^[a-z][a-z0-9-]*$", min_length=1, max_length=64)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A user-facing text in both languages."""

    zh_CN: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh_CN


class Person(Strict):
    name: str = Field(min_length=1)
    email: str
    locale: Locale = "zh_CN"

    # The same rules as a hire's (storage/names.py): a catalog is typed by people too.
    _name = field_validator("name")(check_name)
    _email = field_validator("email")(check_email)


class Department(Strict):
    code: str = Code
    name: Text
    owner: Person
    manager: Person
    # Who grades the department's practice assignments; none: the owner does.
    reviewers: list[Person] = []

    def graders(self) -> list[Person]:
        return list(self.reviewers) or [self.owner]


class DepartmentsFile(Strict):
    boss: Person
    departments: list[Department] = Field(min_length=1)


class ModuleKind(StrEnum):
    GENERAL = "general"
    PROFESSIONAL = "professional"


class Material(Strict):
    code: str = Code
    title: Text


class Question(Strict):
    text: Text
    choices: list[Text] = Field(min_length=2)
    answer: int = Field(ge=0, description="index of the right choice")


class Quiz(Strict):
    pass_mark: int = Field(80, ge=0, le=100)
    attempts: int = Field(3, ge=1, le=20)
    # Whether the result names the right choice of each question answered wrongly; a company
    # that retests with the same questions may prefer to show only which ones were wrong.
    reveal_answers: StrictBool = True
    questions: list[Question] = Field(min_length=1)


class Raci(Strict):
    responsible: list[str]
    accountable: str
    consulted: list[str] = []
    informed: list[str] = []


class Coaching(Strict):
    """Coaching sessions the owner department gives the hire (e.g. a senior engineer online)."""

    sessions: int = Field(ge=1, le=20)
    due_days: int = Field(ge=1, le=120, description="working days after the module's assignment")


class RubricCriterion(Strict):
    code: str = Code
    title: Text


class PracticeAssignment(Strict):
    """Work the hire hands in and the owner department grades against its rubric."""

    title: Text
    brief: Text
    rubric: list[RubricCriterion] = Field(min_length=1)
    pass_mark: int = Field(60, ge=0, le=100)  # every criterion at least this
    due_days: int = Field(ge=1, le=120, description="working days after the module's assignment")
    review_days: int = Field(3, ge=1, le=60, description="working days after a submission")


class Practice(Strict):
    """A module's practice legs, after the quiz: coaching given, an assignment graded."""

    coaching: Coaching | None = None
    assignment: PracticeAssignment | None = None

    @model_validator(mode="after")
    def _some_leg(self) -> Practice:
        if self.coaching is None and self.assignment is None:
            raise ValueError("practice needs coaching, an assignment, or both")
        return self


class Module(Strict):
    code: str = Code
    kind: ModuleKind
    owner: str = Field(description="code of the department that owns the materials")
    title: Text
    materials: list[Material] = Field(min_length=1)
    study_days: int = Field(3, ge=1, le=365)  # working days of the catalog's calendar
    quiz: Quiz
    raci: Raci
    practice: Practice | None = None


class ModulesFile(Strict):
    modules: list[Module] = Field(min_length=1)


class Criterion(StrEnum):
    PRACTICE = "practice"
    CONTENT = "content"
    DELIVERY = "delivery"


class AppraisalItem(Strict):
    code: str = Code
    title: Text
    module: str
    criteria: list[Criterion] = Field(min_length=1)


class Appraisal(Strict):
    day: int = Field(30, ge=1, le=365)
    pass_mark: int = Field(60, ge=0, le=100)
    items: list[AppraisalItem] = Field(min_length=1)


class Position(Strict):
    code: str = Code
    title: Text
    department: str
    modules: list[str] = Field(min_length=1)
    appraisal: Appraisal


class PlannedModule(Strict):
    """A module as a run's plan holds it: what the hire is held to, fixed at the run's start."""

    code: str
    owner: str
    title: Text
    study_days: int
    pass_mark: int
    attempts: int
    materials: list[Material] = []
    # Default for plans stored before practice legs existed.
    practice: Practice | None = None

    @classmethod
    def of(cls, module: Module) -> PlannedModule:
        return cls(code=module.code, owner=module.owner, title=module.title,
                   study_days=module.study_days, pass_mark=module.quiz.pass_mark,
                   attempts=module.quiz.attempts, materials=module.materials,
                   practice=module.practice)


class Plan(Strict):
    """A snapshot of the position at a run's start (`runs.plan`): a later change of the
    catalog does not change what a running hire is held to."""

    position: Position
    modules: list[PlannedModule]
    handoff_due_days: int

    def module(self, code: str) -> PlannedModule | None:
        return next((m for m in self.modules if m.code == code), None)


class PositionsFile(Strict):
    positions: list[Position] = Field(min_length=1)


class Responsible(StrEnum):
    OWNER = "owner"  # the department that owns the item's module
    HR = "hr"
    HIRE = "hire"


class Condition(Strict):
    """Facts about one failed appraisal item; every key given must hold for the rule to fire.

    The practice facts are about the module's practice legs, as they stood when the appraisal
    was submitted: coaching_given (the confirmed sessions reached the number required),
    submitted (the assignment was handed in), reviewed (the latest submission was graded),
    assignment_passed (the latest graded submission reached the pass mark). A module without
    that leg, or a leg not yet due, has no such fact, and no condition on it holds.
    """

    delivered: bool | None = None
    delivered_late: bool | None = None
    started_late: bool | None = None
    trained: bool | None = None
    attempts_left: bool | None = None
    coaching_given: bool | None = None
    submitted: bool | None = None
    reviewed: bool | None = None
    assignment_passed: bool | None = None
    failed_any: list[Criterion] | None = None
    passed_all: list[Criterion] | None = None


class AttributionRule(Strict):
    cause: str = Code
    responsible: Responsible
    when: Condition
    remedial: list[str] = []


class CalendarKind(StrEnum):
    """Which days count toward a deadline."""

    MAINLAND_CHINA = "mainland-china"  # weekends, statutory holidays and make-up working days
    CALENDAR_DAYS = "calendar-days"  # every day


class RulesFile(Strict):
    # The company's calendar: deadlines count its working days; `closures` are days the
    # company itself is closed (not working days whatever the calendar says).
    calendar: CalendarKind = CalendarKind.MAINLAND_CHINA
    closures: list[date] = []
    handoff_due_days: int = Field(2, ge=0, le=60)
    escalation_after_days: int = Field(2, ge=0, le=60)
    attribution: list[AttributionRule] = Field(min_length=1)


class Scope(StrEnum):
    ALL = "all"
    OWN_DEPARTMENT = "own-department"
    OWN = "own"


Role = Literal["hr", "owner", "reviewer", "appraiser", "hire", "boss"]
Action = Literal["plan", "start", "track", "read", "handoff", "edit-module", "edit-quiz", "coach",
                 "grade", "appraise", "study", "quiz", "submit", "confirm", "import"]
ROLES: tuple[str, ...] = Role.__args__  # type: ignore[attr-defined]
ACTIONS: tuple[str, ...] = Action.__args__  # type: ignore[attr-defined]


class PermissionsFile(Strict):
    """The permission matrix: role -> action -> scope; anything not listed is refused."""

    roles: dict[Role, dict[Action, Scope]]


@dataclass(frozen=True)
class CatalogError:
    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"


class CatalogInvalid(Exception):
    def __init__(self, errors: list[CatalogError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


@dataclass(frozen=True)
class Catalog:
    directory: Path
    boss: Person
    departments: dict[str, Department]
    modules: dict[str, Module]
    positions: dict[str, Position]
    rules: RulesFile
    permissions: PermissionsFile

    def owner_of(self, module_code: str) -> Person:
        return self.departments[self.modules[module_code].owner].owner

    def hr(self) -> Department:
        return self.departments["hr"]


def _format_loc(loc: tuple[int | str, ...], data: Any) -> str:
    """Turn a pydantic location into `modules[2](safety).quiz.pass_mark`, naming codes."""
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, int):
            label = f"[{key}]"
            if isinstance(node, list) and key < len(node):
                node = node[key]
                if isinstance(node, dict) and isinstance(node.get("code"), str):
                    label += f"({node['code']})"
            else:
                node = None
            if parts:
                parts[-1] += label
            else:
                parts.append(label)
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts) or "(top level)"


def _read(directory: Path, name: str, model: type[Strict], errors: list[CatalogError]) -> Any:
    path = directory / name
    try:
        # libyaml's parser when PyYAML has it (its wheels do): the same documents, read five
        # times faster, and every CLI call, pass and server reads the catalog.
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SafeLoader)
    except FileNotFoundError:
        errors.append(CatalogError(name, "(file)", "file is missing"))
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        errors.append(CatalogError(name, where, f"not valid YAML: {getattr(exc, 'problem', exc)}"))
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            errors.append(CatalogError(name, _format_loc(err["loc"], data), err["msg"]))
        return None


def _duplicates(codes: list[str]) -> set[str]:
    seen: set[str] = set()
    return {c for c in codes if c in seen or seen.add(c)}  # type: ignore[func-returns-value]


def _cross_check(
    deps: DepartmentsFile, mods: ModulesFile, pos: PositionsFile, rules: RulesFile
) -> list[CatalogError]:
    errors: list[CatalogError] = []
    dept_codes = {d.code for d in deps.departments}
    module_codes = {m.code for m in mods.modules}

    for i, code in enumerate(c.code for c in deps.departments):
        if code in _duplicates([d.code for d in deps.departments]):
            errors.append(CatalogError("departments.yaml", f"departments[{i}]({code}).code",
                                       f"duplicate department code '{code}'"))
    if "hr" not in dept_codes:
        errors.append(CatalogError("departments.yaml", "departments",
                                   "a department with code 'hr' is required"))

    dup_modules = _duplicates([m.code for m in mods.modules])
    for i, m in enumerate(mods.modules):
        where = f"modules[{i}]({m.code})"
        if m.code in dup_modules:
            errors.append(CatalogError("modules.yaml", f"{where}.code",
                                       f"duplicate module code '{m.code}'"))
        if m.owner not in dept_codes:
            errors.append(CatalogError("modules.yaml", f"{where}.owner",
                                       f"unknown department '{m.owner}'"))
        if m.kind == ModuleKind.GENERAL and m.owner != "hr":
            errors.append(CatalogError("modules.yaml", f"{where}.owner",
                                       "a general module is owned by 'hr'"))
        for j, q in enumerate(m.quiz.questions):
            if q.answer >= len(q.choices):
                errors.append(CatalogError(
                    "modules.yaml", f"{where}.quiz.questions[{j}].answer",
                    f"answer {q.answer} is not one of the {len(q.choices)} choices"))
        for k, mat in enumerate(m.materials):
            if mat.code in _duplicates([x.code for x in m.materials]):
                errors.append(CatalogError("modules.yaml", f"{where}.materials[{k}]({mat.code})",
                                           f"duplicate material code '{mat.code}'"))
        assignment = m.practice.assignment if m.practice else None
        if assignment is not None:
            for code in sorted(_duplicates([c.code for c in assignment.rubric])):
                errors.append(CatalogError("modules.yaml", f"{where}.practice.assignment.rubric",
                                           f"duplicate rubric criterion '{code}'"))
        raci_depts = [*m.raci.responsible, m.raci.accountable, *m.raci.consulted,
                      *m.raci.informed]
        for d in raci_depts:
            if d not in dept_codes | {"hire", "boss"}:
                errors.append(CatalogError("modules.yaml", f"{where}.raci",
                                           f"unknown party '{d}'"))

    dup_positions = _duplicates([p.code for p in pos.positions])
    for i, p in enumerate(pos.positions):
        where = f"positions[{i}]({p.code})"
        if p.code in dup_positions:
            errors.append(CatalogError("positions.yaml", f"{where}.code",
                                       f"duplicate position code '{p.code}'"))
        if p.department not in dept_codes:
            errors.append(CatalogError("positions.yaml", f"{where}.department",
                                       f"unknown department '{p.department}'"))
        for j, mc in enumerate(p.modules):
            if mc not in module_codes:
                errors.append(CatalogError("positions.yaml", f"{where}.modules[{j}]",
                                           f"unknown module '{mc}'"))
        for mc in sorted(_duplicates(p.modules)):
            errors.append(CatalogError("positions.yaml", f"{where}.modules",
                                       f"module '{mc}' is listed twice"))
        for j, item in enumerate(p.appraisal.items):
            iwhere = f"{where}.appraisal.items[{j}]({item.code})"
            if item.module not in p.modules:
                errors.append(CatalogError(
                    "positions.yaml", f"{iwhere}.module",
                    f"module '{item.module}' is not among this position's modules"))
            if len(set(item.criteria)) != len(item.criteria):
                errors.append(CatalogError("positions.yaml", f"{iwhere}.criteria",
                                           "a criterion is listed twice"))
        for code in _duplicates([it.code for it in p.appraisal.items]):
            errors.append(CatalogError("positions.yaml", f"{where}.appraisal.items",
                                       f"duplicate appraisal item '{code}'"))

    for i, rule in enumerate(rules.attribution):
        for j, mc in enumerate(rule.remedial):
            if mc not in module_codes:
                errors.append(CatalogError(
                    "rules.yaml", f"attribution[{i}]({rule.cause}).remedial[{j}]",
                    f"unknown module '{mc}'"))
    for code in _duplicates([r.cause for r in rules.attribution]):
        errors.append(CatalogError("rules.yaml", "attribution", f"duplicate cause '{code}'"))
    return errors


def load_catalog(directory: Path | None = None) -> Catalog:
    """Read and validate a catalog directory; raise CatalogInvalid with every error found."""
    directory = Path(directory) if directory else DEFAULT_CATALOG_DIR
    if not directory.is_dir():
        raise CatalogInvalid([CatalogError(str(directory), "(directory)", "not a directory")])
    errors: list[CatalogError] = []
    deps = _read(directory, "departments.yaml", DepartmentsFile, errors)
    mods = _read(directory, "modules.yaml", ModulesFile, errors)
    pos = _read(directory, "positions.yaml", PositionsFile, errors)
    rules = _read(directory, "rules.yaml", RulesFile, errors)
    permissions = _read(directory, "permissions.yaml", PermissionsFile, errors)
    if deps and mods and pos and rules:
        errors.extend(_cross_check(deps, mods, pos, rules))
    if errors:
        raise CatalogInvalid(errors)
    return Catalog(
        directory=directory,
        boss=deps.boss,
        departments={d.code: d for d in deps.departments},
        modules={m.code: m for m in mods.modules},
        positions={p.code: p for p in pos.positions},
        rules=rules,
        permissions=permissions,
    )
