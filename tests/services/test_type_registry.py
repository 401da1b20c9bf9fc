"""Business types are modules of their own (issue 11 §1): every published process has one, and a
new type is its diagram, its form and its module — no other file changes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app.extensions import db
from app.models import ProcessDefinition
from app.models.base import utcnow
from app.services.applications import eligibility
from app.services.applications import types
from app.services.applications.prepare import prepare_simple
from app.services.backoffice import definitions
from tests.conftest import WebClient
from tests.factories import World

ROOT = Path(__file__).resolve().parents[2]


def test_every_published_process_has_its_type_module(ctx: Flask) -> None:
    shipped = {p.stem for p in (ROOT / "bpmn").glob("*.bpmn")}  # (tests may publish others)
    published = {v.process_id: v.definition.name for v in definitions.published_versions()
                 if v.process_id in shipped}
    assert set(published) == shipped, "the reference data publishes the diagrams of bpmn/"
    for pid, name in published.items():
        bt = types.get(pid)
        assert bt is not None, f"{pid} has no module in app/services/applications/types/"
        assert eligibility.type_name(pid) == name  # the display name is the definition's
        if bt.kind == "application":
            assert bt.refusal is not None and bt.prepare is not None, pid
    assert set(published) == {bt.process_id for bt in types.all_types()}


def test_the_apply_page_lists_the_types_in_the_guide_order(ctx: Flask) -> None:
    assert list(eligibility.business_types().values()) == [
        "注册", "助理医师升执业医师", "军队变更入", "变更到军队", "变更", "注销", "多执业机构备案",
        "多执业机构取消备案", "申请取消“多地点执业”", "证书补办"]


@pytest.fixture()
def demo_type(app: Flask, clean_db: None) -> Iterator[str]:
    """A new business type 演示业务: its diagram (a copy of 证书补办's with its own ids and name),
    its own start form, and its module's registration — nothing else is edited."""
    xml = (ROOT / "bpmn" / "reissue.bpmn").read_text("utf-8")
    for old in ("reissue", "reissue_apply", "reissue_collaboration", "reissue_definitions",
                "reissue_diagram", "reissue_lanes", "reissue_plane", "reissue_pool", "reissue_pool_di"):
        xml = xml.replace(f'"{old}"', '"' + old.replace("reissue", "demo_type") + '"')
    xml = xml.replace("证书补办", "演示业务")  # the service operation stays: a registered one
    form = json.loads((ROOT / "forms" / "reissue_apply.json").read_text("utf-8"))
    form["title"] = "演示业务申请"
    forms = {**definitions.all_forms(), "demo_type_apply": form}
    with app.app_context():
        defn, problems = definitions.check(xml, forms, "demo_type")
        assert defn is not None, problems
        used = {fid: forms[fid] for fid in defn.form_ids | {definitions.start_form_id(defn)}}
        db.session.add(ProcessDefinition(
            process_id="demo_type", version=1, name=defn.name, bpmn_xml=xml, forms=used,
            spec_json=defn.spec_json, sha256=hashlib.sha256(xml.encode()).hexdigest(),
            published_at=utcnow(), author="test"))
        db.session.commit()
        db.session.remove()
    # what app/services/applications/types/demo_type.py would say
    types.register(types.BusinessType(
        "demo_type", "application", ("physician",), 11,
        refusal=lambda actor: eligibility.active_refusal(actor, "demo_type", "演示业务"),
        prepare=prepare_simple))
    try:
        yield "demo_type"
    finally:
        types._REGISTRY.pop("demo_type", None)
        with app.app_context():
            db.session.query(ProcessDefinition).filter_by(process_id="demo_type").delete()
            db.session.commit()
            db.session.remove()
        definitions.forget_versions()


def test_a_new_type_is_its_diagram_form_and_module(app: Flask, demo_type: str, web_world: World,
                                                  web: WebClient) -> None:
    web.login("doctor01")
    page = web.get("/physician/apply").get_data(as_text=True)
    assert "演示业务" in page
    form = web.get(f"/physician/apply/{demo_type}")
    assert form.status_code == 200 and "演示业务" in form.get_data(as_text=True)
    # its refusal is its module's: doctor01 has no active registration in the test world
    assert "您当前没有有效的执业注册，不能申请演示业务" in form.get_data(as_text=True)
