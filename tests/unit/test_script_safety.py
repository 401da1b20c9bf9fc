"""The restricted script environment refuses what could escape it."""

from __future__ import annotations

import pytest

from app.workflow.errors import WorkflowError
from app.workflow.scripts import RestrictedEnvironment
from app.workflow.scripts import check_source

HOSTILE = [
    "__import__('os').system('id')",
    "().__class__.__base__.__subclasses__()",
    "(x for x in []).gi_frame.f_back.f_back.f_globals",
    "open('/etc/passwd').read()",
    "'{0.__class__}'.format(1)",
    "'%s' % decision",
    "10 ** 10 ** 8",
    "'a' * 10 ** 10",
    "[1] * n",
    "getattr(decision, '__class__')",
    "decision.__class__",
    "lambda: 1",
    "[x for x in range(10)]",
    "_getattr_",
]


@pytest.mark.parametrize("expr", HOSTILE)
def test_hostile_expressions_are_refused(expr: str) -> None:
    with pytest.raises(WorkflowError):
        check_source(expr, "eval", known={"decision", "n", "range"})


@pytest.mark.parametrize("script", [
    "import os",
    "while True:\n    pass",
    "for i in items:\n    total += i",
    "def f():\n    return 1",
    "class A:\n    pass",
    "try:\n    x = 1\nexcept Exception:\n    pass",
])
def test_hostile_scripts_are_refused(script: str) -> None:
    with pytest.raises(WorkflowError):
        check_source(script, "exec")


def test_unknown_names_are_refused_at_upload() -> None:
    with pytest.raises(WorkflowError, match="未知的名称 secret"):
        check_source("x = secret", "exec", known={"x"})


def test_allowed_code_runs_with_functions_only() -> None:
    env = RestrictedEnvironment({"double": lambda v: v * 2})
    data = {"decision": "confirm", "items": {"a": 1}}
    assert env.evaluate('decision == "confirm"', data) is True
    env.execute('total = double(items.get("a", 0)) + 1\nlabel = f"共{total}项"', data)
    assert data["total"] == 3 and data["label"] == "共3项"
    assert "double" not in data and "__builtins__" not in data


def test_builtins_are_a_small_allow_list() -> None:
    env = RestrictedEnvironment()
    with pytest.raises(NameError):
        env.evaluate("open", {})
    assert env.evaluate("len([1, 2]) + max(1, 3)", {}) == 5
