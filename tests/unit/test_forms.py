"""Form validation messages are Chinese and keyed by field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.errors import InvalidInput
from app.services.applications import forms

FORMS = Path(__file__).resolve().parents[2] / "forms"


def _schema(name: str) -> dict:
    return json.loads((FORMS / f"{name}.json").read_text("utf-8"))


def test_decision_needs_a_reason_when_returning() -> None:
    schema = _schema("institution_confirm")
    assert forms.validate(schema, {"decision": "confirm"}) == {"decision": "confirm"}
    with pytest.raises(InvalidInput) as err:
        forms.validate(schema, {"decision": "return"})
    assert err.value.errors == {"note": "请填写意见说明", "fields": "请选择需要补正的项目"}
    with pytest.raises(InvalidInput) as err:
        forms.validate(schema, {"decision": "maybe"})
    assert err.value.errors == {"decision": "请选择有效的选项"}


def test_unknown_keys_are_dropped() -> None:
    schema = _schema("commission_decide")
    assert forms.validate(schema, {"decision": "approve", "is_admin": True}) == {
        "decision": "approve"}


def test_post_is_turned_into_typed_payload() -> None:
    schema = _schema("registration_apply")
    payload = forms.payload_from_post(schema, {
        "institution_id": ["3"], "department_id": [""], "practice_scopes": ["11", "12"],
        "declare_health": ["on"], "contact_mobile": [" 15175070658 "]})
    assert payload == {"institution_id": 3, "practice_scopes": ["11", "12"],
                       "declare_health": True, "declare_no_bar": False,
                       "contact_mobile": "15175070658"}


def test_options_become_enums() -> None:
    schema = _schema("registration_apply")
    options = {"institutions": [("1", "山西大学医院")], "practice_scopes": [("11", "内科专业")]}
    errors = forms.errors_of(schema, {"institution_id": 2, "practice_scopes": ["99"]}, options)
    assert errors["institution_id"] == "请选择有效的选项"
    assert errors["practice_scopes"] == "请选择有效的选项"
    assert errors["department_id"] == "请选择科室"
    assert errors["employment_proof"] == "请上传聘用证明"
    # R-39 (医师执业注册管理办法 第十二条): the 申请审核表 is printed by the system after
    # submission, so the physician no longer uploads a signed scan before the institution saw it
    assert "application_form" not in errors and "application_form" not in schema["properties"]


@pytest.mark.parametrize(("fmt", "good", "bad", "message"), [
    ("resident-id", "11010519491231002x", "110105194912310021", "身份证号格式不正确"),
    ("mobile", "15175070658", "1517507065", "请输入11位有效的手机号码"),
    ("qualification-cert", "20161411011010519491231002X", "2016141101", "资格证书编码"),
    ("practice-cert", "110430122000123", "11043012200012A", "执业证书编码应为15位数字"),
])
def test_domain_formats(fmt: str, good: str, bad: str, message: str) -> None:
    schema = {"type": "object", "properties": {"v": {"type": "string", "format": fmt}}}
    assert forms.errors_of(schema, {"v": good}) == {}
    assert message in forms.errors_of(schema, {"v": bad})["v"]
