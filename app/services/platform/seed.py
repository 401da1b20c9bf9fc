"""Reference data and the demo world (idempotent)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_
from sqlalchemy import select

from app.extensions import db
from app.models import Authority
from app.models import CatalogueItem
from app.models import Department
from app.models import HumanTask
from app.models import Institution
from app.models import Qualification
from app.models import Registration
from app.models import RegistrationStatus
from app.models import Role
from app.models import TaskStatus
from app.models import User
from app.services.accounts import accounts
from app.services.applications import attachments
from app.services.backoffice import calendar
from app.services.backoffice import definitions
from app.services.engine import processes
from app.services.platform.catalogue_data import CATALOGUES
from app.services.records.validators import birth_date_of
from app.services.records.validators import id_check_char
from app.services.records.validators import sex_of

DEMO_ACCOUNTS = [
    # username, password, role, display name, note
    ("doctor01", "Doctor2026", Role.PHYSICIAN, "宋宏强", "医师：已有资格、尚未注册，可申请注册"),
    ("jigou01", "Jigou2026", Role.INSTITUTION, "山西大学医院医务科", "医疗机构：山西大学医院（机构管理员）"),
    ("weijian01", "Weijian2026", Role.COMMISSION, "太原市卫健委审批员",
     "卫健委：太原市卫生健康委员会"),
    ("admin01", "Admin2026", Role.ADMIN, "系统管理员", "系统管理员"),
    ("doctor02", "Doctor2026", Role.PHYSICIAN, "李明华", "医师：注册申请待机构确认"),
    ("doctor03", "Doctor2026", Role.PHYSICIAN, "王晓燕", "医师：注册申请待卫健委受理"),
]

# the other institutions' and the second commission's accounts (usernames follow the
# institution's id: jigou02x, ...), to try what involves two of them (变更, 多执业机构备案)
OTHER_PASSWORDS = {Role.INSTITUTION: "Jigou2026", Role.COMMISSION: "Weijian2026"}
OTHER_COMMISSION = "weijian02"

_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
_GIVEN = ["建国", "丽华", "志强", "秀英", "海涛", "晓明", "静", "磊", "敏", "伟", "芳", "洋",
          "婷", "勇", "军", "杰", "娟", "涛", "超", "霞"]


def make_resident_id(region: str, born: date, seq: int) -> str:
    body = f"{region}{born:%Y%m%d}{seq:03d}"
    return body + id_check_char(body)


def seed_catalogues() -> None:
    have = {(c.kind, c.code) for c in db.session.scalars(select(CatalogueItem))}
    for kind, rows in CATALOGUES.items():
        for order, (code, name, parent) in enumerate(rows):
            if (kind, code) not in have:
                db.session.add(CatalogueItem(kind=kind, code=code, name=name, parent_code=parent,
                                             sort_order=order))
    db.session.commit()


def seed_reference() -> None:
    """Catalogues, the working-day calendar and the baseline diagrams (nothing is written when
    the diagrams are not installed: ``MissingResource``)."""
    definitions.baseline_files()
    seed_catalogues()
    calendar.seed_from_package()
    definitions.load_baseline()


@dataclass
class DemoWorld:
    created: bool
    accounts: list[tuple[str, str, str, str]]
    identities: list[tuple[str, str, str, str]]  # name, ID number, 资格证书编码, how to activate


def demo_accounts() -> list[tuple[str, str, str, str]]:
    """Every demo account a person can sign in with (username, password, role, what it is for):
    one per role first, then the other institutions' and the second commission's."""
    out = [(u, p, r.label, n) for u, p, r, _d, n in DEMO_ACCOUNTS]
    others = db.session.execute(
        select(User, Institution.name).outerjoin(Institution, Institution.id == User.institution_id)
        .where(or_(User.username.like("jigou%x"), User.username == OTHER_COMMISSION))
        .order_by(User.role.desc(), User.username)).all()
    for user, inst_name in others:
        if user.role is Role.INSTITUTION:
            note = f"医疗机构：{inst_name}"
        else:
            note = "卫健委：昆明市卫生健康委员会（办理云南两家机构的申请）"
        out.append((user.username, OTHER_PASSWORDS[user.role], user.role.label, note))
    return out


def demo_identities() -> list[tuple[str, str, str, str]]:
    """Seeded physicians without an account, to try 个人用户注册 with (one per path)."""
    have = select(User.id_number).where(User.id_number.is_not(None))
    quals = list(db.session.scalars(select(Qualification).where(
        Qualification.id_number.not_in(have)).order_by(Qualification.id)))
    out: list[tuple[str, str, str, str]] = []
    for q in quals:
        statuses = {r.status for r in q.registrations}
        if RegistrationStatus.ACTIVE in statuses and q.id_number.startswith("14") and len(out) == 0:
            out.append((q.name, q.id_number, q.cert_no, "A：在册医师，需山西大学医院（jigou01）生成激活码"))
    for q in quals:
        if not q.registrations:
            out.append((q.name, q.id_number, q.cert_no, "B：有资格未注册，用资格证书编码自行激活"))
            break
    return out


def _authorities() -> dict[str, Authority]:
    out: dict[str, Authority] = {}
    for code, name, level, parent in [
        ("140000", "山西省卫生健康委员会", "province", None),
        ("140100", "太原市卫生健康委员会", "city", "140000"),
        ("530000", "云南省卫生健康委员会", "province", None),
        ("530100", "昆明市卫生健康委员会", "city", "530000"),
    ]:
        a = Authority(name=name, region_code=code, level=level,
                      parent_id=out[parent].id if parent else None)
        db.session.add(a)
        db.session.flush()
        out[code] = a
    return out


def _institutions(auth: dict[str, Authority]) -> list[Institution]:
    specs = [
        ("山西大学医院", "14010543543011111A1001", "综合医院", "二级甲等", "140105", "140100",
         [("01", "内科", "0300"), ("02", "外科", "0400"), ("03", "妇产科", "0500"),
          ("04", "儿科", "0700"), ("05", "预防保健科", "0100")]),
        ("太原市小店区北营社区卫生服务中心", "14010543543011311B1002", "社区卫生服务中心", "未定级",
         "140105", "140100",
         [("01", "全科医疗科", "0200"), ("02", "预防保健科", "0100"), ("03", "中医科", "5000")]),
        ("昆明市第一人民医院", "53010245543011111A1003", "综合医院", "三级甲等", "530102", "530100",
         [("01", "心血管内科", "0304"), ("02", "普通外科", "0401"), ("03", "急诊科", "2000"),
          ("04", "口腔科", "1200")]),
        ("昆明市五华区妇幼保健院", "53010245543011111G1004", "妇幼保健院", "二级甲等", "530102",
         "530100",
         [("01", "妇产科", "0500"), ("02", "儿科", "0700"), ("03", "儿童保健科", "0900")]),
    ]
    out = []
    for name, reg_no, kind, grade, region, auth_code, depts in specs:
        inst = Institution(name=name, reg_no=reg_no, kind=kind, grade=grade, region_code=region,
                           authority_id=auth[auth_code].id, address=f"{name}院内",
                           subject_codes=",".join(d[2] for d in depts))
        db.session.add(inst)
        db.session.flush()
        for code, dname, subject in depts:
            db.session.add(Department(institution_id=inst.id, code=code, name=dname,
                                      subject_code=subject))
        out.append(inst)
    db.session.flush()
    return out


STATUS_PLAN = (["NONE"] * 12 + ["ACTIVE"] * 10 + ["PENDING_CHANGE"] * 2 + ["CHANGED_OUT"] * 3
               + ["FILED"] * 3 + ["CANCELLED"] * 3 + ["SUSPENDED"] * 2 + ["REVOKED"] * 2
               + ["RESIDENCY"] * 3)


def _qualification(rng: random.Random, idx: int, name: str, region: str, born: date,
                   category: str = "1", level: str = "执业医师") -> Qualification:
    rid = make_resident_id(region, born, 10 + idx * 2 + 1)
    year = max(born.year + 25, 2005)
    prov = region[:2]
    cert = f"{year}{prov}{'1' if level == '执业医师' else '2'}{int(category):02d}{rid}"
    return Qualification(
        cert_no=cert, name=name, sex=sex_of(rid), id_number=rid, birth_date=birth_date_of(rid),
        level=level, category=category, year=year, issued_on=date(year, 12, 1),
        issuer="山西省卫生健康委员会" if prov == "14" else "云南省卫生健康委员会",
        major={"1": "临床医学", "2": "口腔医学", "3": "预防医学", "4": "中医学"}[category],
        education="大学本科", school="山西医科大学" if prov == "14" else "昆明医科大学",
        title=rng.choice(["医师", "主治医师", "副主任医师"]))


def seed_demo(upload_dir: str) -> DemoWorld:
    """Two provinces, four institutions, ~40 physicians, one account per role, open tasks."""
    if db.session.scalar(select(User.id).where(User.username == "admin01")):
        return DemoWorld(False, demo_accounts(), demo_identities())
    rng = random.Random(2026)
    auth = _authorities()
    insts = _institutions(auth)
    quals: list[Qualification] = []
    for idx, status in enumerate(STATUS_PLAN):
        region = "140105" if idx % 2 == 0 else "530102"
        name = _SURNAMES[idx % len(_SURNAMES)] + _GIVEN[(idx * 7) % len(_GIVEN)]
        born = date(1965 + idx % 30, 1 + idx % 12, 1 + idx % 27)
        category = "2" if idx % 11 == 5 else "4" if idx % 13 == 7 else "1"
        level = "执业助理医师" if idx % 9 == 4 else "执业医师"
        q = _qualification(rng, idx, name, region, born, category, level)
        db.session.add(q)
        db.session.flush()
        quals.append(q)
        if status != "NONE":
            inst = insts[0] if region.startswith("14") else insts[2]
            scope = {"1": "11", "2": "31", "3": "41", "4": "51"}[category]
            db.session.add(Registration(
                qualification_id=q.id, level=level, category=category, scopes=[scope],
                place_region=region[:2] + "0000", institution_id=inst.id,
                authority_id=inst.authority_id, approved_on=date(2018, 3, 17),
                issued_on=date(2018, 3, 20), status=RegistrationStatus(status),
                status_changed_on=date(2023, 9, 1) if status == RegistrationStatus.FILED else date(2018, 3, 17),
                cert_no=f"{'1' if level == '执业医师' else '2'}{int(category):02d}"
                        f"{auth['140100' if region.startswith('14') else '530100'].region_code}"
                        f"{900000 + idx:06d}"))
    # the demo physicians: qualification only, 临床 执业医师, 山西
    people = {}
    for i, (username, password, role, display, _note) in enumerate(DEMO_ACCOUNTS):
        user = User(username=username, password_hash=accounts.hash_password(password), role=role,
                    display_name=display)
        if role is Role.PHYSICIAN:
            q = _qualification(rng, 100 + i, display, "140105", date(1985, 3 + i, 12))
            db.session.add(q)
            db.session.flush()
            user.qualification_id = q.id
            user.id_number = q.id_number
            user.mobile = f"1517507{i:04d}"
            user.mobile_verified = True
        elif role is Role.INSTITUTION:
            user.institution_id = insts[0].id
            user.org_admin = True  # manages the hospital's staff accounts
        elif role is Role.COMMISSION:
            user.authority_id = auth["140100"].id
        db.session.add(user)
        people[username] = user
    for inst in insts[1:]:
        db.session.add(User(username=f"jigou{inst.id:02d}x", display_name=f"{inst.name}医务科",
                            password_hash=accounts.hash_password(OTHER_PASSWORDS[Role.INSTITUTION]),
                            role=Role.INSTITUTION, institution_id=inst.id))
    db.session.add(User(username=OTHER_COMMISSION, display_name="昆明市卫健委审批员",
                        password_hash=accounts.hash_password(OTHER_PASSWORDS[Role.COMMISSION]),
                        role=Role.COMMISSION, authority_id=auth["530100"].id))
    db.session.commit()
    _demo_applications(people, insts[0], upload_dir)
    return DemoWorld(True, demo_accounts(), demo_identities())


def demo_payload(institution: Institution, upload_dir: str, user: User) -> dict[str, object]:
    """A complete, valid registration application for the demo and the tests."""
    pdf = b"%PDF-1.4\n% demo\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    proof = attachments.store(upload_dir, attachments.Upload("聘用证明.pdf", pdf + b" "), user.id)
    # the demo physicians qualified long ago and never registered: 医师法 第十九条 training proof
    training = attachments.store(upload_dir, attachments.Upload("培训考核合格证明.pdf", pdf + b"  "),
                                 user.id)
    photo = attachments.store(upload_dir, attachments.Upload("照片.jpg", _demo_photo()), user.id)
    return {"institution_id": institution.id, "department_id": institution.departments[0].id,
            "practice_scopes": ["11"], "contact_mobile": user.mobile or "15175070658",
            "declare_health": True, "declare_no_bar": True,
            "employment_proof": proof, "photo": photo,
            "training_proof": training}


def _demo_photo() -> bytes:
    """A plain white 2-inch JPEG (354 x 472)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (354, 472), (250, 250, 250)).save(out, format="JPEG")
    return out.getvalue()


def _demo_applications(people: dict[str, User], hospital: Institution, upload_dir: str) -> None:
    doctor02, doctor03, staff = people["doctor02"], people["doctor03"], people["jigou01"]
    processes.start(doctor02, "registration",
                                demo_payload(hospital, upload_dir, doctor02), upload_dir)
    started = processes.start(doctor03, "registration",
                                          demo_payload(hospital, upload_dir, doctor03), upload_dir)
    task_id = db.session.scalar(select(HumanTask.id).where(
        HumanTask.instance_id == started.instance_id, HumanTask.status == TaskStatus.OPEN))
    assert task_id is not None
    confirmed = {"decision": "confirm", "paper_held": True, "note": "材料齐全，同意"}
    processes.complete_task(staff, task_id, confirmed)
