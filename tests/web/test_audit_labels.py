"""The administrator's 审计记录 is in words: every action the code records has a Chinese label
and the page shows no raw code (issue 13 item 9: ``application.submit``, ``task=13 decision=confirm``)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.models import TaskStatus
from app.services.backoffice import audit_labels
from app.services.engine import processes
from tests.conftest import WebClient
from tests.factories import CONFIRMED
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user

APP = Path(__file__).resolve().parents[2] / "app"
# what the f-string parts of recorded action names can be (see the code at each call)
EXPANSIONS = {"outcome": ["approved", "refused", "withdrawn", "inst_refused", "not_accepted",
                          "terminated"],
              "kind.lower()": ["suspended", "revoked"],
              "field": ["mobile", "email"], "'change' if changed else 'verify'": ["change", "verify"],
              "channel": ["sms", "email"]}


def _names(node: ast.expr, tree: ast.Module, func: str | None) -> list[str]:
    """The action names an argument can be (a task step is ``task.*``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _names(node.body, tree, func) + _names(node.orelse, tree, func)
    if isinstance(node, ast.JoinedStr):
        names = [""]
        for part in node.values:
            if isinstance(part, ast.Constant):
                names = [n + str(part.value) for n in names]
            else:
                assert isinstance(part, ast.FormattedValue)
                src = ast.unparse(part.value)
                if src == "task.task_spec_id":
                    return ["task.*"]
                assert src in EXPANSIONS, f"unknown part {src} of an action name"
                names = [n + v for n in names for v in EXPANSIONS[src]]
        return names
    if isinstance(node, ast.Name) and func:  # passed in: every caller's argument
        out: list[str] = []
        for call in ast.walk(tree):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == func:
                out += _names(call.args[-1], tree, None)
        assert out, f"no caller of {func}"
        return out
    raise AssertionError(f"cannot read the action name {ast.unparse(node)}")


def recorded_actions() -> set[str]:
    found: set[str] = set()
    for path in APP.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
            for call in ast.walk(fn):
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and call.func.attr == "record" and isinstance(call.func.value, ast.Name)
                        and call.func.value.id == "audit"):
                    found.update(_names(call.args[1], tree, fn.name))
    return found


def test_every_recorded_action_has_a_label() -> None:
    # 行政许可法 第六十一条: the audit of every step, readable by the administrator
    actions = recorded_actions()
    assert {"application.submit", "task.*", "account.recover_sms", "application.approved",
            "registration.penalty.revoked", "account.mobile_change"} <= actions
    for action in actions:
        label = audit_labels.action_label(action.replace("*", "institution_confirm"))
        assert label != "其他操作" and re.search(r"[\u4e00-\u9fff]", label), action


def test_the_audit_trail_shows_words_not_codes(app: Flask, web: WebClient, web_world: World) -> None:
    with app.app_context():
        iid = processes.start_application(user(web_world.doctor_id), "registration",
                                          application_payload(web_world, web_world.doctor_id)
                                          ).instance_id
        task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                         HumanTask.status == TaskStatus.OPEN))
        assert task is not None
        task_id, title = task.id, task.title
        processes.complete_task(user(web_world.staff_id), task_id, CONFIRMED)
        db.session.remove()
    web.login("admin01")
    page = web.get(f"/admin/instances/{iid}").get_data(as_text=True)
    trail = page[page.index("审计记录"):]
    trail = trail[:trail.index("</table>")]
    assert "提交申请" in trail and "业务类型：注册" in trail and "办理任务" in trail
    assert f"任务 {task_id}（{title}）：确认" in trail
    for raw in ("application.submit", "task.", "decision=", "task=", "confirm", "process=",
                "registration"):
        assert raw not in trail, raw
