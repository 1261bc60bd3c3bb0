"""The scenario format `jieli simulate` plays (see examples/scenarios/README.md)."""

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


class Step(Strict):
    day: int = Field(ge=0, le=365)
    deliver: str | None = None
    quiz: QuizStep | None = None
    appraise: dict[str, dict[str, int]] | None = None

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        given = [x for x in (self.deliver, self.quiz, self.appraise) if x is not None]
        if len(given) != 1:
            raise ValueError("a step does exactly one of: deliver, quiz, appraise")
        return self

    def describe(self) -> str:
        if self.deliver:
            return f"day {self.day}: deliver {self.deliver}"
        if self.quiz:
            return f"day {self.day}: quiz {self.quiz.module} {self.quiz.score}"
        return f"day {self.day}: appraise"


class ExpectedFinding(Strict):
    item: str
    cause: str
    responsible: str


class Expect(Strict):
    outcome: str | None = Field(None, pattern="^(passed|failed|pending)$")
    findings: list[ExpectedFinding] | None = None
    remedial: list[str] | None = None


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
