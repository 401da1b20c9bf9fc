"""业务申请 explains, per business type, why it cannot be applied for — and refuses it."""

from __future__ import annotations

from datetime import date
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import WebClient
from tests.factories import World
from tests.services.test_business_types import REFUSALS

REVOKED_ON = date.today().replace(day=5) - timedelta(days=40)  # never 29 February


@pytest.mark.parametrize("pid", sorted(REFUSALS))
def test_refusal_is_shown_and_enforced(web: WebClient, web_world: World, pid: str) -> None:
    web.login("doctor01")  # a qualification, no registration yet
    listing = web.get("/physician/apply").get_data(as_text=True)
    assert REFUSALS[pid] in listing
    # no 申请 button in the table (the menu's 证书补办 opens the page that says why)
    assert f'href="/physician/apply/{pid}"' not in listing.split("<table", 1)[1]
    page = web.get(f"/physician/apply/{pid}").get_data(as_text=True)
    assert REFUSALS[pid] in page and "提交申请" not in page
    resp = web.post(f"/physician/apply/{pid}", {"registration_id": "1", "declare_true": "on"})
    assert resp.status_code == 400 and REFUSALS[pid][:10] in resp.get_data(as_text=True)


def _with_registration(app: object, world: World, **kw: object) -> None:
    from app.extensions import db
    from app.models import Registration
    from tests.factories import user

    with app.app_context():  # type: ignore[attr-defined]
        doctor = user(world.doctor_id)
        if kw.pop("assistant", False):
            doctor.qualification.level = "执业助理医师"
        fields = dict(qualification_id=doctor.qualification_id, level=doctor.qualification.level,
                      category="1", scopes=["11"], place_region="140000",
                      institution_id=world.hospital_id, authority_id=world.authority_id,
                      status="ACTIVE", cert_no="110140100000666")
        fields.update(kw)
        db.session.add(Registration(**fields))
        db.session.commit()


@pytest.mark.parametrize(("pid", "setup", "message"), [
    ("registration", {"status": "SUSPENDED"}, "您的执业注册处于暂停执业期间，不能申请注册"),
    # 医师法 第十六条(三): 吊销 bars for two years from the decision, the date is shown
    ("registration", {"status": "REVOKED", "status_decided_on": REVOKED_ON},
     f"您的医师执业证书于{REVOKED_ON.year}年{REVOKED_ON.month}月{REVOKED_ON.day}日被吊销，"
     f"自处罚决定之日起不满二年（《医师法》第十六条），{REVOKED_ON.year + 2}年"
     f"{REVOKED_ON.month}月{REVOKED_ON.day}日起方可申请注册"),
    ("military_in", {"status": "SUSPENDED"}, "您的执业注册处于暂停执业期间，不能申请注册"),
    ("registration", {"assistant": True}, "执业助理医师只能注册一个执业地点"),
    ("upgrade", {"assistant": True}, "未查询到您同类别的执业医师资格信息，不能申请升级"),
])
def test_status_based_refusals(web: WebClient, web_world: World, app: object, pid: str,
                               setup: dict[str, object], message: str) -> None:
    _with_registration(app, web_world, **setup)
    web.login("doctor01")
    assert message in web.get("/physician/apply").get_data(as_text=True)
    page = web.get(f"/physician/apply/{pid}").get_data(as_text=True)
    assert message in page and "提交申请" not in page


def test_registration_in_a_province_already_registered(web: WebClient, web_world: World,
                                                       app: object) -> None:
    import io

    from tests.factories import PDF

    _with_registration(app, web_world)
    web.login("doctor01")
    web.get("/physician/apply/registration")
    resp = web.post("/physician/apply/registration", {
        "institution_id": str(web_world.hospital_id), "department_id": str(web_world.department_id),
        "practice_scopes": ["11"], "contact_mobile": "15175070658", "declare_health": "on",
        "declare_no_bar": "on",
        "employment_proof": (io.BytesIO(PDF + b"1"), "b.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 400
    assert "您在该执业地点已有有效的执业注册，请申请变更或多执业机构备案" in resp.get_data(as_text=True)


def test_another_province_needs_the_same_category_and_scopes(web: WebClient, web_world: World,
                                                              app: object) -> None:
    # DOMAIN §4.1 type 1 ([S9]: keep the old province by applying 注册 with identical 执业类别
    # and 执业范围); R-41
    import io

    from tests.factories import PDF
    from tests.factories import photo_jpeg

    _with_registration(app, web_world)  # 山西 · 内科专业
    web.login("doctor01")
    web.get("/physician/apply/registration")

    def apply(scope: str) -> Any:
        return web.post("/physician/apply/registration", {
            "institution_id": str(web_world.other_hospital_id),
            "department_id": str(web_world.other_department_id),
            "practice_scopes": [scope], "contact_mobile": "15175070658", "declare_health": "on",
            "declare_no_bar": "on", "employment_proof": (io.BytesIO(PDF + b"1"), "b.pdf"),
            "photo": (io.BytesIO(photo_jpeg()), "照片.jpg")},
            content_type="multipart/form-data")

    resp = apply("12")  # 外科专业 in 云南
    assert resp.status_code == 422
    assert ("在其他省份增加注册，执业类别和执业范围须与已有执业注册一致（内科专业）"
            in resp.get_data(as_text=True))
    resp = apply("11")
    assert resp.status_code == 302
    listing = web.get("/physician/applications").get_data(as_text=True)
    assert "注册" in listing and "待机构确认" in listing
