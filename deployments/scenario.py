"""The scenario format `jieli simulate` plays (see examples/scenarios/README.md; format
version 2 adds the practice steps coach, submit and grade, `calendar` and `remedial_done`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from storage.catalog import CalendarKind


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Hire(Strict):
    name: str
    email: str
    position: str
    start: date
    started: int = Field(0, ge=0)


class QuizStep(Strict):
    module: str
    score: int = Field(ge=0, le=100)


class CoachStep(Strict):
    """The owner department records a coaching session; the hire confirms it (or not)."""

    module: str
    confirmed: bool = True


class SubmitStep(Strict):
    module: str


class GradeStep(Strict):
    """The owner's reviewer grades the latest submission: every criterion `score`, or each
    criterion its own (`scores`)."""

    module: str
    score: int | None = Field(None, ge=0, le=100)
    scores: dict[str, int] | None = None

    @model_validator(mode="after")
    def _one_way(self) -> GradeStep:
        if (self.score is None) == (self.scores is None):
            raise ValueError("a grade gives either score or scores")
        return self


class Step(Strict):
    day: int = Field(ge=0, le=365)
    deliver: str | None = None
    quiz: QuizStep | None = None
    appraise: dict[str, dict[str, int]] | None = None
    coach: CoachStep | None = None  # format version 2
    submit: SubmitStep | None = None
    grade: GradeStep | None = None

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        given = [x for x in (self.deliver, self.quiz, self.appraise, self.coach, self.submit,
                             self.grade) if x is not None]
        if len(given) != 1:
            raise ValueError("a step does exactly one of: deliver, quiz, appraise, coach, "
                             "submit, grade")
        return self

    def describe(self) -> str:
        if self.deliver:
            return f"day {self.day}: deliver {self.deliver}"
        if self.quiz:
            return f"day {self.day}: quiz {self.quiz.module} {self.quiz.score}"
        if self.coach:
            said = "" if self.coach.confirmed else " (disputed)"
            return f"day {self.day}: coach {self.coach.module}{said}"
        if self.submit:
            return f"day {self.day}: submit {self.submit.module}"
        if self.grade:
            return f"day {self.day}: grade {self.grade.module}"
        return f"day {self.day}: appraise"


class ExpectedFinding(Strict):
    item: str
    cause: str
    responsible: str


class Expect(Strict):
    outcome: str | None = Field(None, pattern="^(passed|failed|pending)$")
    findings: list[ExpectedFinding] | None = None
    remedial: list[str] | None = None
    remedial_done: list[str] | None = None  # format version 2


class Scenario(Strict):
    name: str
    # The company's calendar for this scenario (format version 2); none: the catalog's.
    calendar: CalendarKind | None = None
    hire: Hire
    ready: list[str] = []
    steps: list[Step] = []
    expect: Expect | None = None

    def ordered_steps(self) -> list[Step]:
        """Sorted by day, then as written (sorted() is stable)."""
        return sorted(self.steps, key=lambda s: s.day)


class ScenarioInvalid(ValueError):
    pass


def load_scenario(path: Path) -> Scenario:
    try:
        return Scenario.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioInvalid(f"{path}: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in exc.errors())
        raise ScenarioInvalid(f"{path}: {problems}") from exc
