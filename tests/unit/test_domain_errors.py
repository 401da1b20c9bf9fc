"""Domain errors without Flask (issue 11 §1): the services raise app.services.errors; the web
answers them with a Chinese page and the status a browser or script expects."""

from __future__ import annotations

import ast
from pathlib import Path

from flask import Flask

from app.services import errors
from app.web.errors import status_of
from tests.conftest import WebClient
from tests.factories import World

SERVICES = Path(__file__).resolve().parents[2] / "app" / "services"


def test_each_error_has_its_status() -> None:
    assert status_of(errors.NotFound("申请不存在")) == 404
    assert status_of(errors.Forbidden("您无权办理此任务")) == 403
    assert status_of(errors.Conflict("该任务已被处理")) == 409
    assert status_of(errors.InvalidInput("请按提示修改后重新提交")) == 422
    assert status_of(errors.DomainError("不支持的业务类型")) == 400


def test_no_service_answers_with_http() -> None:
    found = []
    for path in SERVICES.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in ("flask", "werkzeug.exceptions"):
                names = {a.name for a in node.names}
                if names & {"abort", "Response", "make_response", "jsonify", "render_template"}:
                    found.append(f"{path.name}: {sorted(names)}")
    assert found == []


def test_a_service_refusal_is_a_chinese_page_with_its_status(app: Flask, web: WebClient,
                                                             web_world: World) -> None:
    web.login("doctor01")
    resp = web.get("/physician/applications/999999")
    assert resp.status_code == 404 and "申请不存在" in resp.get_data(as_text=True)
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    resp = staff.client.get("/inbox/tasks/999999", headers={"Accept": "application/json"})
    assert resp.status_code == 404 and resp.get_json()["message"] == "任务不存在"
