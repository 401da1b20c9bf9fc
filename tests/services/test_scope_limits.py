"""执业范围 limits in every type that sets scopes, and the catalogues they are chosen from."""

from __future__ import annotations

from typing import Any

import pytest
from flask import current_app
from sqlalchemy import select

from app.errors import InvalidInput
from app.extensions import db
from app.models import Authority
from app.models import CatalogueItem
from app.models import Department
from app.models import Institution
from app.models import Qualification
from app.models import Registration
from app.services.applications import attachments
from app.services.engine import processes
from tests.conftest import WebClient
from tests.factories import PDF
from tests.factories import World
from tests.factories import application_payload
from tests.factories import user

ONE_ONLY = "只能选择 1 个执业范围；县级及以下医疗机构的临床医师经批准方可选择至多 3 个"


def _institution(world: World, kind: str, name: str, region: str = "140121") -> Institution:
    inst = Institution(name=name, reg_no=f"R-{name}", kind=kind, region_code=region,
                       authority_id=world.authority_id)
    db.session.add(inst)
    db.session.flush()
    db.session.add(Department(institution_id=inst.id, code="01", name="全科", subject_code="0200"))
    db.session.commit()
    return inst


def _register(world: World, inst: Institution, scopes: list[str]) -> int:
    data = application_payload(world, world.doctor_id, institution_id=inst.id,
                               department_id=inst.departments[0].id, practice_scopes=scopes)
    return processes.start_application(user(world.doctor_id), "registration", data).instance_id


@pytest.mark.parametrize("kind", ["乡镇卫生院", "社区卫生服务中心", "社区卫生服务站", "村卫生室"])
def test_three_scopes_of_one_category_at_a_primary_institution(world: World, kind: str) -> None:
    # 执业范围暂行规定 第二条（县及县级以下医疗机构）; R-24
    inst = _institution(world, kind, f"清徐县{kind}")
    assert _register(world, inst, ["11", "12", "21"])


@pytest.mark.parametrize("kind", ["综合医院", "门诊部", "诊所"])
def test_county_level_institutions_allow_three_scopes(world: World, kind: str) -> None:
    # 执业范围暂行规定 第三条: 县及县级以下医疗机构 — a county hospital or clinic approved by the
    # county commission counts (issue 11: county hospitals included); R-24
    county = Authority(name="清徐县卫生健康局", region_code="140121", level="county",
                       parent_id=world.authority_id)
    db.session.add(county)
    db.session.flush()
    inst = _institution(world, kind, f"清徐县人民{kind}")
    inst.authority_id = county.id
    db.session.commit()
    assert _register(world, inst, ["11", "12"])


@pytest.mark.parametrize("kind", ["综合医院", "门诊部", "诊所"])
def test_city_level_institutions_allow_one_scope(world: World, kind: str) -> None:
    # 执业范围暂行规定 第三条: above county level one specialty only; R-24
    inst = _institution(world, kind, f"太原市{kind}", region="140105")  # approved by the city
    with pytest.raises(InvalidInput) as err:
        _register(world, inst, ["11", "12"])
    assert err.value.errors["practice_scopes"] == ONE_ONLY


def test_four_scopes_are_refused_even_at_a_primary_institution(world: World) -> None:
    # 执业范围暂行规定 第二条 (至多 3 个); R-24
    inst = _institution(world, "乡镇卫生院", "清徐县东于镇卫生院")
    with pytest.raises(InvalidInput) as err:
        _register(world, inst, ["11", "12", "13", "21"])
    assert "practice_scopes" in err.value.errors


def test_scopes_of_another_category_are_refused(world: World) -> None:
    # DOMAIN [S3 Art 7], [S5]: the 执业类别 is the category of the qualification
    # 医师法 第十四条 (按照注册的执业类别执业); 执业范围暂行规定 第二条; R-24
    inst = _institution(world, "乡镇卫生院", "清徐县西谷乡卫生院")
    with pytest.raises(InvalidInput) as err:
        _register(world, inst, ["11", "31"])
    assert "practice_scopes" in err.value.errors


def _att(world: World, name: str) -> dict[str, Any]:
    return attachments.store(world.upload_dir, attachments.Upload(name, PDF + name.encode()),
                             world.doctor_id)


def test_upgrade_obeys_the_same_limits(world: World) -> None:
    # 执业范围暂行规定 第二条; R-24 (probe: upgrade at a 综合医院 accepted 3 scopes)
    doctor = user(world.doctor_id)
    assistant = doctor.qualification
    assistant.level = "执业助理医师"
    db.session.add(Qualification(
        cert_no="2016141" + assistant.cert_no[7:], name=assistant.name, sex=assistant.sex,
        id_number=assistant.id_number, birth_date=assistant.birth_date, level="执业医师",
        category="1", year=2016, issued_on=assistant.issued_on, issuer=assistant.issuer))
    reg = Registration(qualification_id=assistant.id, level="执业助理医师", category="1",
                       scopes=["11"], place_region="140105", institution_id=world.hospital_id,
                       authority_id=world.authority_id, status="ACTIVE",
                       cert_no="211140100000001")
    db.session.add(reg)
    db.session.commit()
    data = {"registration_id": reg.id, "practice_scopes": ["11", "12", "13"],
            "old_certificate": _att(world, "证.pdf"),
            "declare_true": True}
    with pytest.raises(InvalidInput) as err:
        processes.start_application(user(world.doctor_id), "upgrade", data)
    assert err.value.errors["practice_scopes"] == ONE_ONLY
    data["practice_scopes"] = ["11"]
    assert processes.start_application(user(world.doctor_id), "upgrade", data).instance_id


def test_every_category_has_its_other_specialties_row(world: World) -> None:
    # 执业范围暂行规定 第一条 (省级以上卫生健康行政部门规定的其他专业); R-25
    rows = db.session.scalars(select(CatalogueItem).where(
        CatalogueItem.kind == "practice_scope",
        CatalogueItem.name == "省级以上卫生健康行政部门规定的其他专业"))
    assert sorted(r.parent_code or "" for r in rows) == ["1", "2", "3", "4"]
    db.session.commit()
    web = WebClient(current_app.test_client())
    web.login("doctor01")
    page = web.get("/physician/apply/registration").get_data(as_text=True)
    assert "省级以上卫生健康行政部门规定的其他专业" in page  # the 注册 form offers it


def test_clinical_subject_codes_are_complete(world: World) -> None:
    # 《医疗机构诊疗科目名录》; R-30 (DOMAIN §3.6 is the source)
    codes = set(db.session.scalars(select(CatalogueItem.code).where(
        CatalogueItem.kind == "clinical_subject")))
    domain = {f"{n:02d}00" for n in range(1, 33) if n != 29}  # 0100–2800, 3000–3200
    domain |= {f"03{n:02d}" for n in range(1, 11)} | {f"04{n:02d}" for n in range(1, 9)}
    domain |= {"5000", "5100", "5200"}
    assert domain <= codes
