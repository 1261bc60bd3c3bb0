"""`jieli simulate` plays scenarios through the real system and says whether they held."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"

WRONG_EXPECTATION = """
name: Expectation that does not hold
hire: {name: 周一, email: zhou.yi@example.com, position: python-developer, start: 2026-12-01}
ready: [culture]
steps:
  - {day: 1, quiz: {module: culture, score: 100}}
expect: {outcome: passed}
"""

STEP_THAT_CANNOT_BE_TAKEN = """
name: Quiz on a module that was never assigned
hire: {name: 吴二, email: wu.er@example.com, position: python-developer, start: 2026-12-01}
steps:
  - {day: 1, quiz: {module: python-basics, score: 90}}
"""


def test_an_owner_who_never_delivers_is_reminded_daily_then_escalated(tmp_path):
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(WRONG_EXPECTATION, encoding="utf-8")
    stuck = tmp_path / "stuck.yaml"
    stuck.write_text(STEP_THAT_CANNOT_BE_TAKEN, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "deployments.cli", "simulate", "--json",
         str(EXAMPLES / "03-content-never-delivered.yaml"), str(wrong), str(stuck)],
        capture_output=True, text=True, timeout=300, env=dict(os.environ, COLUMNS="200"))
    assert result.returncode == 1, result.stderr  # two of the three do not hold
    never, wrong_result, stuck_result = (json.loads(line) for line in
                                         result.stdout.splitlines())

    assert never["ok"] is True and never["outcome"] == "failed"
    assert [(f["item"], f["cause"], f["responsible"]) for f in never["findings"]] == [
        ("coding-assignment", "content-not-delivered", "technology")]
    evidence = " ".join(never["findings"][0]["evidence"])
    assert "未交接" in evidence and "28" in evidence  # never delivered; 28 reminders
    owner_days = [r["day"] for r in never["reminders"]
                  if r["to"] == "wang.lei@example.com" and r["role"] == "owner"]
    assert owner_days == list(range(3, 31))  # due on day 2; a reminder each day after it
    escalations = {(r["to"], r["role"], r["day"]) for r in never["reminders"]
                   if r["role"] != "owner"}
    assert escalations == {("emily.chen@example.com", "appraiser", 4),
                           ("boss@example.com", "boss", 4)}

    assert wrong_result["ok"] is False and wrong_result["outcome"] == "pending"
    assert stuck_result["ok"] is False
    assert stuck_result["error"].startswith("day 1: quiz python-basics 90:")
