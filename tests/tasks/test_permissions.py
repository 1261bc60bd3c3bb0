"""One permission check for every entry point: over roles × actions × objects × entry points
the answer is what storage/catalog/permissions.yaml says, every refusal is audited with who,
what and through which entry point, and the CLI, the web's domain actions and the Prefect
deployment are each refused like anyone else."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from storage.catalog import ACTIONS
from tasks.permissions import Grant, NotPermitted, Target, allowed, check
from tests.forms.conftest import Forms, forms  # noqa: F401  (the fixture, for this module)
from tests.installation import Configure

MATRIX_FILE = Path(__file__).resolve().parents[2] / "storage" / "catalog" / "permissions.yaml"
MATRIX = yaml.safe_load(MATRIX_FILE.read_text(encoding="utf-8"))["roles"]
HR, HR_MANAGER, BOSS = "liu.fang@example.com", "sun.li@example.com", "boss@example.com"
MARKETING_OWNER, HIRE = "li.na@example.com", "zhang.wei@example.com"
# The example company's people and the roles the matrix file's header gives them (from
# departments.yaml: each department's owner and manager; hr's are also `hr`; a person with a
# run is `hire`), written out by hand: the oracle does not derive them with the code's rules.
ROLES_OF: dict[str, set[tuple[str, str | None]]] = {
    HR: {("hr", None), ("owner", "hr")},
    HR_MANAGER: {("hr", None), ("appraiser", "hr")},
    MARKETING_OWNER: {("owner", "marketing")},
    "zhou.qiang@example.com": {("appraiser", "marketing")},
    "wang.lei@example.com": {("owner", "technology")},
    "emily.chen@example.com": {("appraiser", "technology")},
    BOSS: {("boss", None)},
    HIRE: {("hire", None)},
    "someone.else@example.com": set(),  # in storage, with no role
    "nobody@example.com": set(),  # unknown to storage
}
DEPARTMENTS = ["hr", "marketing", "technology"]
ENTRY_POINTS = ["link", "session", "cli", "prefect", "flow"]  # web = link or session
KINDS = ["position", "module", "assignment", "run", "area"]


def matrix_says(email: str, action: str, department: str, own: bool) -> bool:
    """The matrix file read literally: one of the person's roles lists the action with a scope
    that covers the object (all; own-department: the role's department; own: theirs)."""
    for role, role_department in ROLES_OF[email]:
        scope = MATRIX.get(role, {}).get(action)
        if scope == "all" or (scope == "own-department" and role_department == department) \
                or (scope == "own" and own):
            return True
    return False


def audit_rows(app: Forms) -> list[tuple]:
    return app.sql("select actor, action, object_type, object_id, via from audit_log "
                   "where action like 'refused:%' order by id")


def prepare_people(app: Forms) -> dict[str, int]:
    """The hire has a run (so is `hire`); someone.else exists with no role."""
    if not app.sql("select id from runs"):
        app.start_run(HIRE)
        from storage import repo
        from tasks.env import transaction

        with transaction() as session:
            repo.upsert_person(session=session, name="某人", email="someone.else@example.com",
                               locale="zh_CN")
    return {e: i for e, i in app.sql("select email, id from people")}


def test_the_matrix_file_says_what_the_design_says():
    def may(role, action, dept=None, target_dept="marketing", own=False):
        return allowed(_matrix(), frozenset({Grant(role, dept)}), 7, action,
                       Target("module", "x", target_dept, 7 if own else 8))

    assert may("hr", "start") and may("hr", "track") and may("hr", "plan")
    assert not may("hr", "handoff") and not may("hr", "edit-module")  # not a department's
    assert may("owner", "handoff", "marketing") and not may("owner", "handoff", "technology")
    assert may("owner", "edit-quiz", "marketing") and may("owner", "grade", "marketing")
    assert not may("owner", "grade", "technology")
    assert may("appraiser", "appraise", "marketing")
    assert not may("appraiser", "appraise", "technology")
    assert may("hire", "quiz", own=True) and not may("hire", "quiz")
    assert may("boss", "read") and may("boss", "start")  # the boss starts hires in Prefect
    assert not may("boss", "handoff") and not may("boss", "appraise")


def _matrix():
    from tasks.env import get_catalog

    return get_catalog().permissions


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(email=st.sampled_from(sorted(ROLES_OF)), action=st.sampled_from(ACTIONS),
       kind=st.sampled_from(KINDS), department=st.sampled_from(DEPARTMENTS),
       whose=st.sampled_from(["own", "another's", "nobody's"]),
       via=st.sampled_from(ENTRY_POINTS))
def test_every_entry_point_gets_the_matrix_files_answer_and_every_refusal_is_audited(
        forms: Forms, email, action, kind, department, whose, via):  # noqa: F811
    ids = prepare_people(forms)
    me = ids.get(email, 10_000)
    other = next(i for e, i in ids.items() if e != email)
    target = Target(kind, "7", department,
                    {"own": me, "another's": other, "nobody's": None}[whose])
    before = audit_rows(forms)
    expected = matrix_says(email, action, department, whose == "own")
    try:
        acted_as = check(action=action, target=target, via=via, by_email=email)
    except NotPermitted:
        assert not expected, f"{email} refused {action} on {target}"
        assert audit_rows(forms) == [*before, (email, f"refused:{action}", kind, "7", via)]
    else:
        assert expected, f"{email} allowed {action} on {target}"
        assert acted_as == email and audit_rows(forms) == before


# --- each entry point asks the same check -------------------------------------------------


def cli(*args: str):
    from deployments.cli import app

    return CliRunner().invoke(app, list(args))


HIRE_ARGS = ["--name", "王芳", "--email", "wang.fang@example.com", "--position",
             "marketing-specialist", "--start", "2026-12-01"]


def test_the_cli_acts_as_a_named_person_and_is_refused_like_anyone_else(
        forms: Forms, monkeypatch: pytest.MonkeyPatch):  # noqa: F811
    nobody = cli("hire", *HIRE_ARGS)
    assert nobody.exit_code == 2 and "--as EMAIL" in nobody.output
    stranger = cli("--as", "nobody@example.com", "hire", *HIRE_ARGS)
    assert stranger.exit_code == 2 and "已拒绝" in stranger.output
    owner = cli("--as", MARKETING_OWNER, "hire", *HIRE_ARGS)
    assert owner.exit_code == 2 and "may not start" in owner.output
    assert forms.sql("select count(*) from runs") == [(0,)]
    assert audit_rows(forms)[-2:] == [
        ("nobody@example.com", "refused:start", "position", "marketing-specialist", "cli"),
        (MARKETING_OWNER, "refused:start", "position", "marketing-specialist", "cli")]

    boss = cli("--as", BOSS, "hire", *HIRE_ARGS)
    assert boss.exit_code == 0 and "入职流程 #1" in boss.output, boss.output
    assert forms.sql("select actor, via from audit_log where action = 'run-started'") == [
        (BOSS, "cli")]


@pytest.mark.parametrize("command", [["runs"], ["outbox"], ["resume"],
                                     ["revoke-sessions", HR]], ids=lambda c: c[0])
def test_the_clis_overview_of_every_run_and_message_is_hrs_and_the_bosss(
        forms: Forms, command: list[str]):  # noqa: F811
    """`jieli runs`, `outbox`, `resume` and `revoke-sessions` show or move every run and
    message: the matrix's `track` of HR's area, as on HR's pages. Others are refused,
    audited, before anything is read or changed."""
    nobody = cli(*command)
    assert nobody.exit_code == 2 and "--as EMAIL" in nobody.output
    owner = cli("--as", MARKETING_OWNER, *command)
    assert owner.exit_code == 2 and "may not track" in owner.output, owner.output
    assert audit_rows(forms)[-1] == (MARKETING_OWNER, "refused:track", "area", "hr", "cli")
    for person in (HR, BOSS):
        allowed = cli("--as", person, *command)
        assert allowed.exit_code == 0, allowed.output
    if command[0] == "revoke-sessions":
        assert forms.sql("select actor from audit_log where action = 'revoked-sessions'") == [
            (HR,), (BOSS,)]


def test_the_cli_acts_as_the_configured_person_when_no_as_is_given(
        forms: Forms, configure: Configure):  # noqa: F811
    configure(acting_as=HR)  # JIELI_ACTING_AS
    assert cli("hire", *HIRE_ARGS).exit_code == 0
    assert forms.sql("select actor, via from audit_log where action = 'run-started'") == [
        (HR, "cli")]
    # A hand-off by HR of a marketing module: refused, whoever the CLI was told to act as.
    handed = cli("deliver", "customer-communication")
    assert handed.exit_code == 2 and "may not handoff" in handed.output
    assert audit_rows(forms)[-1] == (HR, "refused:handoff", "module",
                                     "customer-communication", "cli")
    assert forms.sql("select count(*) from deliveries") == [(0,)]


def test_the_prefect_deployment_is_refused_for_someone_who_may_not_start(
        forms: Forms):  # noqa: F811
    from flows.start import NewHire, start_hire

    hire = NewHire(name="王芳", email="wang.fang@example.com", position="python-developer",
                   start=date(2026, 12, 1))
    with pytest.raises(NotPermitted):
        start_hire.fn(hire=hire, requested_by=MARKETING_OWNER)
    assert audit_rows(forms)[-1] == (MARKETING_OWNER, "refused:start", "position",
                                     "python-developer", "prefect")
    assert forms.sql("select count(*) from runs") == [(0,)]


def test_quiz_and_appraisal_actions_refuse_anyone_but_their_person(forms: Forms):  # noqa: F811
    from tasks.appraisal import submit_appraisal
    from tasks.handoff import deliver_materials
    from tasks.learning import assign_ready_modules, take_quiz

    run_id = forms.start_run(HIRE)
    deliver_materials(module_code="culture", by_email=HR, via="cli")
    assign_ready_modules.fn(run_id)
    (assignment,), = forms.sql("select id from assignments")
    with pytest.raises(NotPermitted):
        take_quiz(assignment_id=assignment, answers={}, via="flow", by_email=HR)
    technology_manager = forms.person_id("emily.chen@example.com")
    with pytest.raises(NotPermitted):
        submit_appraisal(run_id=run_id, appraiser_id=technology_manager, scores={},
                         comments={}, via="link")
    assert audit_rows(forms)[-2:] == [
        (HR, "refused:quiz", "assignment", str(assignment), "flow"),
        ("emily.chen@example.com", "refused:appraise", "run", str(run_id), "link")]
    assert forms.sql("select count(*) from quiz_attempts") == [(0,)]
    # The hire's own attempt passes the same check.
    result = take_quiz(assignment_id=assignment, answers={}, via="flow", by_email=HIRE)
    assert result.attempt_no == 1
