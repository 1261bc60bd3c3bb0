"""`jieli catalog export` and `jieli catalog import`: the catalog's YAML and the installation are
one truth (issue 9 item 5).

Each test runs the CLI in-process (typer's CliRunner) against a fresh installation (`forms`:
migrated SQLite, the default catalog, the forms app in-process, Prefect out of reach), acting as
HR (刘芳) unless it says otherwise.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner, Result

from storage.catalog import DEFAULT_CATALOG_DIR, load_catalog
from storage.settings import get_settings
from tasks.env import get_catalog
from tests.forms.conftest import Forms, forms, ready_forms  # noqa: F401  (the fixture)
from tests.installation import Configure
from tests.security.conftest import sign_in

HR = "liu.fang@example.com"
MARKETING_OWNER = "li.na@example.com"
HIRE = "zhang.wei@example.com"
FILES = ["departments.yaml", "modules.yaml", "permissions.yaml", "positions.yaml", "rules.yaml"]
EDITED = {"zh_CN": "与客户第一次通话时，最先要做的是什么？",
          "en": "What comes first in a first call with a customer?"}


def cli(*args: str | Path, as_: str | None = HR) -> Result:
    from deployments.cli import app

    acting = ["--as", as_] if as_ else []
    return CliRunner().invoke(app, [*acting, *map(str, args)])


def catalog_copy(tmp_path: Path, name: str = "edited") -> Path:
    target = tmp_path / name
    shutil.copytree(DEFAULT_CATALOG_DIR, target)
    return target


def edit_yaml(directory: Path, name: str, change: Any) -> None:
    """Change one file of a catalog directory as a person would in an editor."""
    path = directory / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def module_in(data: dict, code: str) -> dict:
    return next(m for m in data["modules"] if m["code"] == code)


def unchanged(forms: Forms) -> dict[str, Any]:  # noqa: F811
    """What an import may change: the tables it writes and the catalog the installation reads."""
    tables = ["quiz_versions", "audit_log", "modules", "positions", "departments", "people"]
    return {**{t: forms.sql(f"select count(*) from {t}")[0][0] for t in tables},
            "catalog": get_catalog().directory, "imported": list(imported_dirs())}


def imported_dirs() -> list[str]:
    from tasks.env import catalog_pointer

    root = catalog_pointer().parent
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def edit_quiz_question(module: str, by: str) -> None:
    """The module's owner rewrites its first question on the department pages' terms."""
    from tasks.quizzes import QuizDraft, current_quiz, edit_quiz

    draft = QuizDraft.of(current_quiz(module).quiz)
    first = dataclasses.replace(draft.questions[0], text=dict(EDITED))
    edit_quiz(module_code=module, draft=dataclasses.replace(
        draft, questions=[first, *draft.questions[1:]]), by_email=by, via="session")


def quiz_page(forms: Forms, assignment: int) -> str:  # noqa: F811
    """The quiz page as the hire opens it from the study page of their emailed link."""
    study = forms.client.get(f"/study/{assignment}?t={forms.token('study', HIRE, str(assignment))}")
    link = re.search(r'href="(/quiz/\d+\?t=[^"]+)"', study.text)
    assert link, study.text
    page = forms.client.get(link.group(1))
    assert page.status_code == 200
    return page.text


def studying(forms: Forms, run_id: int, module: str) -> int:  # noqa: F811
    """Hand off the module's materials and assign it to the run: the assignment's id."""
    from tasks.handoff import deliver_materials
    from tasks.learning import assign_ready_modules

    owner = get_catalog().owner_of(module).email
    deliver_materials(module_code=module, by_email=owner, via="cli")
    assign_ready_modules.fn(run_id)
    return forms.sql("select id from assignments where run_id = :r and module_code = :m",
                     r=run_id, m=module)[0][0]


# --- export -------------------------------------------------------------------------------


def test_an_untouched_installation_exports_its_catalog_and_it_checks(forms: Forms,  # noqa: F811
                                                                     tmp_path: Path):
    out = tmp_path / "catalog"
    exported = cli("catalog", "export", out)
    assert exported.exit_code == 0, exported.output
    assert sorted(p.name for p in out.iterdir()) == FILES
    assert cli("catalog", "check", out).exit_code == 0
    modules = (out / "modules.yaml").read_text(encoding="utf-8")
    assert modules.startswith("# Exported by `jieli catalog export` on ")
    assert f"by {HR}," in modules and "sqlite:///" in modules
    assert "title: {zh_CN: 企业文化, en: Company culture}" in modules  # Chinese as it is typed
    # Nothing was changed on the pages: the export is the YAML catalog it came from.
    source, written = load_catalog(DEFAULT_CATALOG_DIR), load_catalog(out)
    assert written.modules == source.modules and written.positions == source.positions
    assert (written.departments, written.rules, written.permissions) == (
        source.departments, source.rules, source.permissions)
    assert forms.sql("select actor, action from audit_log") == [(HR, "catalog-exported")]


def test_export_refuses_a_directory_that_is_not_empty_unless_forced(forms: Forms,  # noqa: F811
                                                                    tmp_path: Path):
    out = tmp_path / "kept-in-git"
    (out / ".git").mkdir(parents=True)
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    refused = cli("catalog", "export", out)
    assert refused.exit_code == 1 and "--force" in refused.output
    assert sorted(p.name for p in out.iterdir()) == [".git"]
    forced = cli("catalog", "export", out, "--force")
    assert forced.exit_code == 0, forced.output
    assert sorted(p.name for p in out.iterdir()) == [".git", *FILES]
    assert (out / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"


def test_export_and_import_are_refused_without_a_person_or_to_a_department_owner(
        forms: Forms, tmp_path: Path, configure: Configure):  # noqa: F811
    configure(acting_as="")  # whatever the environment says
    out, before = tmp_path / "out", unchanged(forms)
    nobody = cli("catalog", "export", out, as_=None)
    assert nobody.exit_code == 2 and "--as EMAIL" in nobody.output
    assert cli("catalog", "import", DEFAULT_CATALOG_DIR, as_=None).exit_code == 2
    assert unchanged(forms) == before  # nobody named: nobody to audit
    for args in (("export", out), ("import", DEFAULT_CATALOG_DIR),
                 ("import", DEFAULT_CATALOG_DIR, "--dry-run")):
        refused = cli("catalog", *args, as_=MARKETING_OWNER)
        assert refused.exit_code == 2 and "li.na@example.com may not plan" in refused.output
    assert not out.exists()
    assert forms.sql("select actor, action, object_id, via from audit_log order by id") == [
        (MARKETING_OWNER, "refused:plan", "catalog", "cli")] * 3
    assert unchanged(forms) == {**before, "audit_log": before["audit_log"] + 3}


# --- the round trip -----------------------------------------------------------------------


def test_an_edited_quiz_goes_out_in_the_yaml_and_into_a_new_installation(
        tmp_path: Path, migrated_storage: Path):
    from tasks.module_versions import add_material, archive_material

    module, out = "customer-communication", tmp_path / "exported"
    (tmp_path / "a").mkdir()
    with ready_forms(tmp_path / "a", migrated_storage) as first:
        assert cli("catalog", "export", tmp_path / "before").exit_code == 0
        assert cli("catalog", "check", tmp_path / "before").exit_code == 0
        edit_quiz_question(module, MARKETING_OWNER)
        studying(first, first.start_run(), module)  # a version of the materials to change
        archive_material(module_code=module, material_code="objection-cases",
                         by_email=MARKETING_OWNER, via="session")
        add_material(module_code=module, title="客户异议处理视频", by_email=MARKETING_OWNER,
                     via="session", link="https://pan.example.com/s/objections-video")
        exported = cli("catalog", "export", out)
        assert exported.exit_code == 0, exported.output
    checked = cli("catalog", "check", out)
    assert checked.exit_code == 0, checked.output
    text = (out / "modules.yaml").read_text(encoding="utf-8")
    assert EDITED["zh_CN"] in text and EDITED["en"] in text
    assert f"#   {module}: quiz version 2 (" in text
    assert f"#   {module}: archived, left out: objection-cases" in text
    materials = {m.code: m.title.zh_CN for m in load_catalog(out).modules[module].materials}
    assert "objection-cases" not in materials and "客户异议处理视频" in materials.values()

    (tmp_path / "b").mkdir()
    with ready_forms(tmp_path / "b", migrated_storage) as fresh:
        imported = cli("catalog", "import", out)
        assert imported.exit_code == 0, imported.output
        assert "修改的测验：客户沟通：第 1 版 → 第 2 版" in imported.output
        run_id = fresh.start_run()
        # The hand-off there asks for the materials as the first installation left them.
        handoff = fresh.client.get(f"/handoff/{module}?t="
                                   f"{fresh.token('handoff', MARKETING_OWNER, module)}").text
        assert "《客户沟通话术模板》" in handoff and "客户异议处理视频" in handoff
        assert "《常见问题应对案例》" not in handoff
        page = quiz_page(fresh, studying(fresh, run_id, module))
        assert EDITED["zh_CN"] in page
        assert load_catalog(DEFAULT_CATALOG_DIR).modules[module].quiz.questions[0].text.zh_CN \
            not in page


# --- import -------------------------------------------------------------------------------


def broken_catalog(tmp_path: Path) -> Path:
    broken = catalog_copy(tmp_path, "broken")
    edit_yaml(broken, "modules.yaml",
              lambda d: module_in(d, "product-knowledge").update(owner="sales"))
    edit_yaml(broken, "positions.yaml",
              lambda d: d["positions"][1]["modules"].append("kubernetes"))
    return broken


def test_a_broken_catalog_is_refused_with_every_error_and_nothing_changes(
        forms: Forms, tmp_path: Path):  # noqa: F811
    broken, before = broken_catalog(tmp_path), unchanged(forms)
    checked = cli("catalog", "check", broken)
    errors = [line for line in checked.output.splitlines() if line.startswith(str(broken))]
    assert len(errors) == 2 and checked.exit_code == 1
    for args in ((), ("--dry-run",)):
        refused = cli("catalog", "import", broken, *args)
        assert refused.exit_code == 1
        assert [line for line in refused.output.splitlines()
                if line.startswith(str(broken))] == errors
        assert "目录中有 2 处错误" in refused.output
    assert unchanged(forms) == before


def changed_catalog(tmp_path: Path) -> Path:
    """The default catalog with a module added, a quiz and a position changed."""
    edited = catalog_copy(tmp_path)

    def modules(data: dict) -> None:
        culture = module_in(data, "culture")
        culture["quiz"].update(pass_mark=60, attempts=5)
        culture["quiz"]["questions"][0]["text"] = dict(EDITED)
        data["modules"].append({**module_in(data, "safety"), "code": "fire-drill",
                                "title": {"zh_CN": "消防演练", "en": "Fire drill"}})

    def positions(data: dict) -> None:
        marketing = data["positions"][0]
        marketing["modules"] = [m for m in marketing["modules"] if m != "etiquette"]
        marketing["modules"].append("fire-drill")

    edit_yaml(edited, "modules.yaml", modules)
    edit_yaml(edited, "positions.yaml", positions)
    return edited


def test_a_dry_run_says_what_would_change_and_changes_nothing(
        forms: Forms, tmp_path: Path, configure: Configure):  # noqa: F811
    edited, before = changed_catalog(tmp_path), unchanged(forms)
    dry = cli("catalog", "import", edited, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines() == [
        "新增模块：消防演练（fire-drill）", "修改的测验：企业文化：第 1 版 → 第 2 版",
        "修改的岗位：市场专员（marketing-specialist）", f"试运行 {edited}：没有做任何改动。"]
    assert unchanged(forms) == before
    configure(default_locale="en")
    english = cli("catalog", "import", edited, "--dry-run").output.splitlines()
    assert english[:3] == ["Modules added: Fire drill (fire-drill)",
                           "Quizzes changed: Company culture: version 1 → 2",
                           "Positions changed: Marketing specialist (marketing-specialist)"]
    configure(default_locale="zh_CN")

    sign_in(forms, HR)
    raci = "/hr/positions/marketing-specialist"
    assert "职场礼仪" in forms.client.get(raci).text  # the forms app has read the catalog
    original = get_catalog()
    done = cli("catalog", "import", edited)
    assert done.exit_code == 0, done.output
    assert done.output.splitlines()[:3] == dry.output.splitlines()[:3]
    assert "Prefect 中发起入职的表单只列出运行器启动时读到的岗位" not in done.output  # none added
    # Taken up without a restart (nothing cleared any cache): the page and the CLI's process.
    page = forms.client.get(raci).text
    assert "消防演练" in page and "职场礼仪" not in page
    assert "fire-drill" in get_catalog().modules and "fire-drill" not in original.modules
    assert forms.sql("select module_code, number from quiz_versions order by number") == [
        ("culture", 1), ("culture", 2)]
    from tasks.quizzes import current_quiz, quiz_history

    assert current_quiz("culture").quiz.questions[0].text.zh_CN == EDITED["zh_CN"]
    first = quiz_history("culture")[-1]  # attempts on version 1 keep its questions
    assert (first.version, first.by) == (1, "")
    assert first.quiz == original.modules["culture"].quiz
    assert forms.sql("select actor, action, object_id from audit_log where action like "
                     "'%imported' order by id") == [
        (HR, "quiz-imported", "culture"), (HR, "catalog-imported", "catalog")]
    again = cli("catalog", "import", edited, "--dry-run")
    assert again.exit_code == 0 and again.output.splitlines()[0] == "没有任何改动"


def test_a_forms_app_already_running_serves_the_imported_catalog_without_a_restart(
        forms: Forms, tmp_path: Path):  # noqa: F811
    import httpx

    from deployments.stack import Stack, free_port

    renamed = catalog_copy(tmp_path, "renamed")
    edit_yaml(renamed, "modules.yaml", lambda d: module_in(d, "culture")["title"].update(
        zh_CN="企业文化（新版）"))
    # The forms app as `jieli up` starts it: its own process, which has read the catalog.
    stack = Stack(get_settings().model_copy(update={"forms_port": free_port()}))
    stack.start_forms()
    try:
        url = (f"http://127.0.0.1:{stack.settings.forms_port}/handoff/culture"
               f"?t={forms.token('handoff', HR, 'culture')}")
        assert "<h1>资料交接：企业文化</h1>" in httpx.get(url).text
        assert cli("catalog", "import", renamed).exit_code == 0
        assert "<h1>资料交接：企业文化（新版）</h1>" in httpx.get(url).text
    finally:
        stack.stop()


def test_a_run_in_progress_keeps_its_plan_and_a_later_run_takes_the_new_one(
        forms: Forms, tmp_path: Path):  # noqa: F811
    from storage import repo
    from tasks.env import reading

    run_id = forms.start_run()
    culture = studying(forms, run_id, "culture")
    page = quiz_page(forms, culture)
    assert "及格线 80 分" in page and "共 3 次机会" in page
    with reading() as session:
        plan = repo.get_run(session=session, run_id=run_id).plan
    assert cli("catalog", "import", changed_catalog(tmp_path)).exit_code == 0

    with reading() as session:
        assert repo.get_run(session=session, run_id=run_id).plan == plan
    assert "etiquette" in [m.code for m in plan.modules]
    page = quiz_page(forms, culture)  # its pass mark and attempts; the newest questions
    assert "及格线 80 分" in page and "共 3 次机会" in page and EDITED["zh_CN"] in page

    later = forms.start_run(email="li.lei@example.com")
    with reading() as session:
        new_plan = repo.get_run(session=session, run_id=later).plan
    assert [m.code for m in new_plan.modules] == [
        "culture", "rules", "product-knowledge", "customer-communication", "proposal-writing",
        "fire-drill"]
    assert (new_plan.module("culture").pass_mark, new_plan.module("culture").attempts) == (60, 5)


def test_dropping_a_module_a_run_in_progress_holds_is_refused(forms: Forms,  # noqa: F811
                                                               tmp_path: Path):
    run_id = forms.start_run()
    dropped = catalog_copy(tmp_path, "dropped")
    edit_yaml(dropped, "modules.yaml", lambda d: d["modules"].remove(module_in(d, "etiquette")))
    edit_yaml(dropped, "positions.yaml", lambda d: d["positions"][0]["modules"].remove(
        "etiquette"))
    assert cli("catalog", "check", dropped).exit_code == 0  # a valid catalog by itself
    before = unchanged(forms)
    refused = cli("catalog", "import", dropped)
    assert refused.exit_code == 1
    assert (f"{dropped / 'modules.yaml'}: modules: module 'etiquette' is missing, but runs in "
            f"progress hold it: #{run_id}") in refused.output.replace("\n", "")
    assert unchanged(forms) == before
