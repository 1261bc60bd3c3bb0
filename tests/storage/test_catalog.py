"""The catalog: the default one is valid; a broken one is refused with file and path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from deployments.cli import app
from storage.catalog import DEFAULT_CATALOG_DIR, CatalogInvalid, load_catalog


def test_default_catalog_is_the_articles_company():
    catalog = load_catalog()
    assert set(catalog.departments) == {"hr", "marketing", "technology"}
    assert [m.title.zh_CN for m in catalog.modules["customer-communication"].materials] == [
        "《客户沟通话术模板》", "《常见问题应对案例》", "《沟通效果评估表》"]
    assert [m.title.zh_CN for m in catalog.modules["python-basics"].materials] == [
        "《Python基础教程》", "《项目实战案例》"]
    for module in catalog.modules.values():
        assert len(module.quiz.questions) == 10
        assert (module.quiz.pass_mark, module.quiz.attempts, module.study_days) == (80, 3, 3)
    marketing = catalog.positions["marketing-specialist"]
    assert marketing.modules == ["culture", "rules", "etiquette", "product-knowledge",
                                 "customer-communication", "proposal-writing"]
    items = {i.code: (i.module, list(i.criteria)) for i in marketing.appraisal.items}
    assert items == {"scenario-simulation": ("customer-communication", ["practice"]),
                     "proposal-presentation": ("proposal-writing", ["content", "delivery"])}
    assert (marketing.appraisal.day, marketing.appraisal.pass_mark) == (30, 60)
    assert [r.cause for r in catalog.rules.attribution] == [
        "content-not-delivered", "onboarding-started-late", "content-late",
        "training-incomplete", "quiz-failed", "coaching-not-given", "assignment-not-submitted",
        "review-not-done", "assignment-failed", "practice-coaching", "expression"]
    assert catalog.rules.handoff_due_days == 2


def test_default_catalog_has_the_scenarios_readme_practice_legs():
    """The table "The default catalog's practice legs" of the scenarios README, written out."""
    modules = load_catalog().modules
    python = modules["python-basics"].practice
    assert python is not None and python.coaching is not None and python.assignment is not None
    assert (python.coaching.sessions, python.coaching.due_days) == (2, 10)
    brief = python.assignment
    assert brief.title.zh_CN == "编程作业" and [c.code for c in brief.rubric] == [
        "correctness", "style"]
    assert (brief.pass_mark, brief.due_days, brief.review_days) == (60, 10, 3)
    proposal = modules["proposal-writing"].practice
    assert proposal is not None and proposal.coaching is None and proposal.assignment
    assert proposal.assignment.title.zh_CN == "市场方案"
    assert [c.code for c in proposal.assignment.rubric] == ["format", "content", "logic"]
    assert (proposal.assignment.pass_mark, proposal.assignment.due_days,
            proposal.assignment.review_days) == (60, 10, 3)
    assert {code for code, m in modules.items() if m.practice} == {"python-basics",
                                                                  "proposal-writing"}


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(DEFAULT_CATALOG_DIR, target)
    return target


def edit(directory: Path, name: str, change) -> None:
    path = directory / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def check(directory: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["catalog", "check", str(directory)])
    return result.exit_code, result.output


def test_check_accepts_the_default_catalog():
    code, out = check(DEFAULT_CATALOG_DIR)
    assert code == 0, out
    assert "目录无误" in out


def test_check_reports_every_error_with_file_and_path(catalog_copy: Path):
    def break_positions(data):
        data["positions"][0]["modules"][1] = "no-such-module"
        data["positions"][1]["appraisal"]["items"][0]["module"] = "customer-communication"

    def break_modules(data):
        data["modules"][1]["code"] = "culture"  # duplicate of modules[0]
        data["modules"][3]["quiz"]["pass_mark"] = 180

    edit(catalog_copy, "positions.yaml", break_positions)
    code, out = check(catalog_copy)
    assert code == 1
    assert "positions.yaml: positions[0](marketing-specialist).modules[1]: unknown module " \
           "'no-such-module'" in out
    assert ("positions.yaml: positions[1](python-developer).appraisal.items[0]"
            "(coding-assignment).module: module 'customer-communication' is not among this "
            "position's modules") in out

    edit(catalog_copy, "modules.yaml", break_modules)
    code, out = check(catalog_copy)
    assert code == 1
    assert "modules.yaml: modules[3](safety).quiz.pass_mark: Input should be less than or " \
           "equal to 100" in out


def test_a_quiz_may_keep_its_answers_to_itself(catalog_copy: Path):
    assert load_catalog().modules["culture"].quiz.reveal_answers  # the default shows them
    edit(catalog_copy, "modules.yaml",
         lambda d: d["modules"][0]["quiz"].update(reveal_answers=False))
    assert not load_catalog(catalog_copy).modules["culture"].quiz.reveal_answers
    edit(catalog_copy, "modules.yaml",
         lambda d: d["modules"][0]["quiz"].update(reveal_answers="maybe"))
    code, out = check(catalog_copy)
    assert code == 1
    assert "modules.yaml: modules[0](culture).quiz.reveal_answers: Input should be a valid " \
           "boolean" in out


def test_check_validates_practice_legs(catalog_copy: Path):
    def python(data) -> dict:
        return next(m for m in data["modules"] if m["code"] == "python-basics")

    def break_practice(data):
        practice = python(data)["practice"]
        practice["coaching"]["sessions"] = 0
        practice["assignment"]["pass_mark"] = 180
        practice["assignment"]["rubric"].append(dict(practice["assignment"]["rubric"][0]))
        proposal = next(m for m in data["modules"] if m["code"] == "proposal-writing")
        proposal["practice"] = {}

    edit(catalog_copy, "modules.yaml", break_practice)
    code, out = check(catalog_copy)
    assert code == 1
    assert "modules.yaml: modules[8](python-basics).practice.coaching.sessions: Input should " \
           "be greater than or equal to 1" in out
    assert "practice.assignment.pass_mark: Input should be less than or equal to 100" in out
    assert "modules[7](proposal-writing).practice: Value error, practice needs coaching, an " \
           "assignment, or both" in out
    edit(catalog_copy, "modules.yaml", lambda d: (
        python(d)["practice"]["coaching"].update(sessions=2),
        python(d)["practice"]["assignment"].update(pass_mark=60),
        next(m for m in d["modules"] if m["code"] == "proposal-writing").pop("practice")))
    code, out = check(catalog_copy)
    assert code == 1
    assert "modules.yaml: modules[8](python-basics).practice.assignment.rubric: duplicate " \
           "rubric criterion 'correctness'" in out


def test_duplicate_codes_are_named(catalog_copy: Path):
    edit(catalog_copy, "modules.yaml", lambda d: d["modules"][1].update(code="culture"))
    with pytest.raises(CatalogInvalid) as exc:
        load_catalog(catalog_copy)
    messages = [str(e) for e in exc.value.errors]
    assert "modules.yaml: modules[1](culture).code: duplicate module code 'culture'" in messages


def test_unparseable_yaml_names_file_and_line(catalog_copy: Path):
    (catalog_copy / "rules.yaml").write_text("attribution: [\n  - {cause: x\n", encoding="utf-8")
    code, out = check(catalog_copy)
    assert code == 1
    assert "rules.yaml: line " in out and "not valid YAML" in out


def test_a_missing_file_is_reported(catalog_copy: Path):
    (catalog_copy / "departments.yaml").unlink()
    code, out = check(catalog_copy)
    assert code == 1
    assert "departments.yaml: (file): file is missing" in out


def test_show_prints_owners_and_raci():
    result = CliRunner().invoke(app, ["catalog", "show"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "客户沟通" in result.output and "李娜" in result.output
    assert "python-developer" in result.output
