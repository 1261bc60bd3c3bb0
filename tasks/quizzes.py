"""A module's quiz as its department keeps it: versions in storage, checked before they are saved.

- Version 1 of a module's quiz is the catalog's (storage/catalog/modules.yaml). The module's
  owner (HR for the general modules; action `edit-quiz` in the matrix) edits it on the
  department pages: the questions, four choices each with one right answer, the pass mark,
  the attempts. A save is checked with the catalog's own pydantic `Quiz`/`Question` models
  plus the rules of the form (four choices, one right answer, both languages), and stored
  whole as the next version (`quiz_versions`), audited as `quiz-edited`; a quiz with any
  problem saves nothing. No version is changed or deleted.
- The quiz a hire takes is the module's newest version, read through `current_quiz` by the
  quiz page and by `take_quiz`; each attempt records the version it answered. Answers sent
  for a version that is no longer the newest (the owner saved while the hire was answering)
  are refused without using an attempt (`QuizChanged`), and the page shows the new questions.
- The pass mark and the attempts are part of a run's plan, fixed at its start
  (`storage.repo.plan_for` takes the newest version's): a run under way keeps the pass mark
  and attempts it started with, a run started after the edit takes the new ones. The
  questions are not in the plan: every hire answers the newest questions.
- Once a module's quiz was edited here, the newest stored version decides for it, not the
  catalog YAML's quiz. `jieli catalog import` (tasks/catalog_io.py) stores a YAML quiz that
  differs from the newest version as the next one; when the module had none stored, it first
  stores the catalog's quiz it replaces as version 1, so that attempts on version 1 keep
  their questions (such a stored version 1 is still shown as the catalog's). A remedial
  module (assigned by a verdict, not in the run's plan) takes the catalog's pass mark and
  attempts, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from storage import clock, repo
from storage.catalog import Question, Quiz
from storage.models import Assignment, Person, Plan, QuizVersion, Run
from tasks.env import get_catalog, reading, transaction
from tasks.permissions import check, module_target

CATALOG_VERSION = 1
CHOICES = 4  # every edited question has four choices, one of them right
MAX_QUESTIONS = 50
MAX_TEXT_CHARS = 500  # a question or a choice, in one language
LANGUAGES = ("zh_CN", "en")


@dataclass(frozen=True)
class QuizOf:
    """One version of a module's quiz; `at` and `by` are None and "" for the catalog's."""

    module: str
    version: int
    quiz: Quiz
    at: datetime | None = None
    by: str = ""


# A module's stored versions with who saved each, as rows (the entities and then their
# `created_by` took a query each; every study page, quiz page and attempt reads the newest).
_VERSIONS = select(QuizVersion.module_code, QuizVersion.number, QuizVersion.quiz,
                   QuizVersion.created_at, Person.name.label("by")) \
    .join(Person, Person.id == QuizVersion.created_by_id)
# The newest, in a statement built once (see storage/repo.py on statements built once).
_NEWEST = _VERSIONS.where(QuizVersion.module_code == bindparam("module_code")) \
    .order_by(QuizVersion.number.desc()).limit(1)


def _stored(row: Row[*tuple[Any, ...]]) -> QuizOf:
    """A stored version, from a `_VERSIONS` row."""
    if row.number == CATALOG_VERSION:  # kept by an import: the catalog's, as it was
        return QuizOf(row.module_code, row.number, Quiz.model_validate(row.quiz))
    return QuizOf(row.module_code, row.number, Quiz.model_validate(row.quiz), row.created_at,
                  row.by)


def current_quiz_in(session: Session, module_code: str) -> QuizOf:
    """The quiz hires take now: the newest stored version, else the catalog's."""
    row = session.execute(_NEWEST, {"module_code": module_code}).first()
    if row is None:
        return QuizOf(module_code, CATALOG_VERSION, get_catalog().modules[module_code].quiz)
    return _stored(row)


def current_quiz(module_code: str) -> QuizOf:
    """The quiz hires take now (see `current_quiz_in`)."""
    with reading() as session:
        return current_quiz_in(session, module_code)


def quiz_version(module_code: str, number: int) -> QuizOf:
    """One version of the module's quiz (the result page reviews the one answered)."""
    with reading() as session:
        row = session.execute(_VERSIONS.where(QuizVersion.module_code == module_code,
                                              QuizVersion.number == number)).first()
        if row is None:
            return QuizOf(module_code, CATALOG_VERSION, get_catalog().modules[module_code].quiz)
        return _stored(row)


def quiz_history(module_code: str) -> list[QuizOf]:
    """Every version of the module's quiz, newest first, ending with the catalog's."""
    with reading() as session:
        rows = session.execute(_VERSIONS.where(QuizVersion.module_code == module_code)
                               .order_by(QuizVersion.number.desc()))
        stored = [_stored(row) for row in rows]
    if stored and stored[-1].version == CATALOG_VERSION:
        return stored
    return [*stored, QuizOf(module_code, CATALOG_VERSION, get_catalog().modules[module_code].quiz)]


@dataclass(frozen=True)
class HireQuiz:
    """The quiz as one hire takes it: the newest questions, their run's pass mark and
    attempts."""

    version: int
    questions: list[Question]
    pass_mark: int
    attempts: int
    reveal_answers: bool


def hire_quiz(assignment_id: int) -> HireQuiz:
    """The quiz of an assignment as its hire takes it now."""
    with reading() as session:
        return hire_quiz_in(session, assignment_id)


# An assignment's module and its run's plan, in one statement built once.
_ASSIGNED = select(Assignment.module_code, Run.plan) \
    .join(Run, Run.id == Assignment.run_id) \
    .where(Assignment.id == bindparam("assignment_id"))


def hire_quiz_in(session: Session, assignment_id: int) -> HireQuiz:
    module_code, plan = session.execute(_ASSIGNED, {"assignment_id": assignment_id}).one()
    return planned_quiz_in(session, plan, module_code)


def planned_quiz_in(session: Session, plan: Plan, module_code: str) -> HireQuiz:
    """The module's quiz as a run with this plan takes it now: the newest questions, the
    plan's pass mark and attempts."""
    from tasks.learning import planned_module  # tasks.learning imports this module

    planned = planned_module(plan, module_code)
    current = current_quiz_in(session, module_code)
    return HireQuiz(current.version, list(current.quiz.questions), planned.pass_mark,
                    planned.attempts, current.quiz.reveal_answers)


class QuizChanged(Exception):
    """The answers were given to a quiz version that is no longer the newest."""

    def __init__(self, current: int):
        super().__init__(f"the quiz is at version {current} now")
        self.current = current


# --- editing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionDraft:
    """A question as typed in the form: texts by language, choices, the right one's index."""

    text: dict[str, str]
    choices: list[dict[str, str]]
    answer: str = ""  # the index typed, "" when no choice was marked right
    remove: bool = False

    def blank(self) -> bool:
        return not any(v.strip() for v in self.text.values()) and not any(
            v.strip() for c in self.choices for v in c.values())


@dataclass(frozen=True)
class QuizDraft:
    """The quiz form as sent: every value as typed, so that a refused form shows it again."""

    questions: list[QuestionDraft]
    pass_mark: str
    attempts: str
    reveal_answers: bool = True

    @classmethod
    def of(cls, quiz: Quiz) -> QuizDraft:
        """A version, as the form shows it to be edited."""
        return cls([QuestionDraft({lang: q.text.get(lang) for lang in LANGUAGES},
                                  [{lang: c.get(lang) for lang in LANGUAGES} for c in q.choices],
                                  str(q.answer)) for q in quiz.questions],
                   str(quiz.pass_mark), str(quiz.attempts), quiz.reveal_answers)


@dataclass(frozen=True)
class QuizProblem:
    """What is wrong with the form. kind: text | choices | choice-language | answer | long |
    pass-mark | attempts | no-questions | too-many | invalid; `question` counts from 1 as the
    form numbers them."""

    kind: str
    question: int | None = None
    detail: str = ""


class QuizInvalid(ValueError):
    def __init__(self, problems: list[QuizProblem]):
        super().__init__("; ".join(f"{p.kind} {p.question or ''} {p.detail}".strip()
                                   for p in problems))
        self.problems = problems


def _question_problems(n: int, q: QuestionDraft) -> list[QuizProblem]:
    problems = []
    if not all(q.text.get(lang, "").strip() for lang in LANGUAGES):
        problems.append(QuizProblem("text", n))
    filled = [c for c in q.choices if any(c.get(lang, "").strip() for lang in LANGUAGES)]
    if len(filled) != CHOICES or len(q.choices) != CHOICES:
        problems.append(QuizProblem("choices", n, str(len(filled))))
    elif not all(c.get(lang, "").strip() for c in q.choices for lang in LANGUAGES):
        problems.append(QuizProblem("choice-language", n))
    if q.answer not in {str(i) for i in range(CHOICES)}:
        problems.append(QuizProblem("answer", n))
    texts = [*q.text.values(), *(v for c in q.choices for v in c.values())]
    if any(len(t.strip()) > MAX_TEXT_CHARS for t in texts):
        problems.append(QuizProblem("long", n, str(MAX_TEXT_CHARS)))
    return problems


def checked_quiz(draft: QuizDraft) -> Quiz:
    """The quiz the form describes, or QuizInvalid listing every problem.

    Questions marked for removal, and a question left blank (the form's empty one for a new
    question), are left out. The rest are checked against the form's rules, then the whole is
    validated by the catalog's `Quiz` model (pass mark 0-100, attempts 1-20, types).
    """
    problems: list[QuizProblem] = []
    kept: list[tuple[int, QuestionDraft]] = [
        (n, q) for n, q in enumerate(draft.questions, 1) if not q.remove and not q.blank()]
    for n, q in kept:
        problems += _question_problems(n, q)
    if not kept:
        problems.append(QuizProblem("no-questions"))
    if len(kept) > MAX_QUESTIONS:
        problems.append(QuizProblem("too-many", None, str(MAX_QUESTIONS)))
    data = {"pass_mark": draft.pass_mark.strip(), "attempts": draft.attempts.strip(),
            "reveal_answers": draft.reveal_answers,
            "questions": [{"text": {lang: q.text.get(lang, "").strip() for lang in LANGUAGES},
                           "choices": [{lang: c.get(lang, "").strip() for lang in LANGUAGES}
                                       for c in q.choices],
                           "answer": q.answer} for _, q in kept]}
    try:
        quiz = Quiz.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            where = error["loc"][0] if error["loc"] else ""
            if where == "pass_mark":
                problems.append(QuizProblem("pass-mark", None, draft.pass_mark.strip()[:20]))
            elif where == "attempts":
                problems.append(QuizProblem("attempts", None, draft.attempts.strip()[:20]))
            elif where != "questions" or not problems:  # questions: said above, per question
                problems.append(QuizProblem("invalid", None, error["msg"][:200]))
        raise QuizInvalid(problems) from None
    if problems:
        raise QuizInvalid(problems)
    return quiz


def _changed(before: Quiz, after: Quiz) -> list[int]:
    """The question numbers (from 1) that differ, added or removed."""
    count = max(len(before.questions), len(after.questions))
    return [i + 1 for i in range(count)
            if before.questions[i:i + 1] != after.questions[i:i + 1]]


def edit_quiz(*, module_code: str, draft: QuizDraft, by_email: str, via: str) -> QuizOf | None:
    """Save the quiz of the form as the module's next version; None when it equals the newest
    (nothing to save). NotPermitted (audited) for anyone but the module's owner, QuizInvalid
    for a quiz with problems: either way nothing is saved."""
    if module_code not in get_catalog().modules:
        raise LookupError(f"unknown module {module_code!r}")
    check(action="edit-quiz", target=module_target(module_code), via=via, by_email=by_email)
    quiz = checked_quiz(draft)
    now = clock.now()
    with transaction() as session:
        repo.lock_module(session=session, module_code=module_code)
        current = current_quiz_in(session, module_code)
        if quiz == current.quiz:
            return None
        person = repo.person_by_email(session=session, email=by_email)
        if person is None:
            raise LookupError(f"{by_email} is not in storage")
        row = QuizVersion(module_code=module_code, number=current.version + 1,
                          quiz=quiz.model_dump(mode="json"), created_by_id=person.id,
                          created_at=now)
        session.add(row)
        session.flush()
        repo.audit(session=session, actor=person.email, action="quiz-edited",
                   object_type="module", object_id=module_code, via=via, now=now,
                   detail={"version": row.number, "previous": current.version,
                           "questions": len(quiz.questions), "changed": _changed(
                               current.quiz, quiz),
                           "pass_mark": [current.quiz.pass_mark, quiz.pass_mark],
                           "attempts": [current.quiz.attempts, quiz.attempts]})
        return QuizOf(module_code, row.number, quiz, now, person.name)
