"""pyproject.toml declares every package Jieli's code imports directly.

A package that arrives only through another one (sqlalchemy through prefect, say) breaks the
day that one drops it; the lock file pins versions, pyproject says what we depend on.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("flows", "tasks", "forms", "storage", "deployments")


def imported_top_levels(folder: Path) -> set[str]:
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def normalise(name: str) -> str:
    return name.lower().replace("_", "-")


def test_every_third_party_import_is_a_declared_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {normalise(re.split(r"[\[=<>!~; ]", r)[0]) for r in project["dependencies"]}
    providers = packages_distributions()
    ours = set(PACKAGES)
    undeclared = {}
    for package in PACKAGES:
        for name in imported_top_levels(ROOT / package):
            if name in ours or name in sys.stdlib_module_names:
                continue
            dists = {normalise(d) for d in providers.get(name, [])}
            assert dists, f"{package} imports {name!r}, which no installed package provides"
            if not dists & declared:
                undeclared[name] = sorted(dists)
    assert not undeclared, f"imported but not in pyproject.toml dependencies: {undeclared}"
