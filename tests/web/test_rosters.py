"""医师名册: the three lists of the institution, masked, with a CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from flask import Flask

from app.extensions import db
from app.models import Institution
from app.models import MultiFiling
from app.models import Registration
from app.services.engine.clock import today_cst
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import make_qualification


def _data(app: Flask, world: World) -> str:
    with app.app_context():
        ours = make_qualification("陈本院", 51)
        theirs = make_qualification("林外院", 52)
        second = Institution(name="太原市中心医院", reg_no="R-140-8", kind="综合医院",
                             region_code="140106", authority_id=world.authority_id)
        db.session.add(second)
        db.session.flush()
        r1 = Registration(qualification_id=ours.id, level="执业医师", category="1", scopes=["11"],
                          place_region="140000", institution_id=world.hospital_id,
                          authority_id=world.authority_id, status="ACTIVE",
                          cert_no="110140100001111")
        r2 = Registration(qualification_id=theirs.id, level="执业医师", category="1",
                          scopes=["11"], place_region="140000", institution_id=second.id,
                          authority_id=world.authority_id, status="ACTIVE",
                          cert_no="110140100002222")
        db.session.add_all([r1, r2])
        db.session.flush()
        today = today_cst()
        db.session.add_all([
            MultiFiling(registration_id=r1.id, institution_id=second.id, scopes=["11"],
                        valid_from=today, valid_to=today + timedelta(days=90),
                        authority_id=world.authority_id, filed_on=today),
            MultiFiling(registration_id=r2.id, institution_id=world.hospital_id, scopes=["11"],
                        valid_from=today, valid_to=today + timedelta(days=90),
                        authority_id=world.authority_id, filed_on=today)])
        db.session.commit()
        return ours.id_number


def test_three_lists_and_the_csv(web: WebClient, web_world: World, app: Flask) -> None:
    id_number = _data(app, web_world)
    web.login("jigou01")
    main = web.get("/institution/rosters/main").get_data(as_text=True)
    assert "陈本院" in main and "林外院" not in main and id_number not in main
    out = web.get("/institution/rosters/filed_out").get_data(as_text=True)
    assert "陈本院" in out and "太原市中心医院" in out
    into = web.get("/institution/rosters/filed_in").get_data(as_text=True)
    assert "林外院" in into and "陈本院" not in into
    resp = web.get("/institution/rosters/main.csv")
    assert resp.mimetype == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["姓名", "身份证号", "执业证书编码"]
    assert [r[0] for r in rows[1:]] == ["陈本院"] and rows[1][1] != id_number
    other = WebClient(app.test_client())
    other.login("jigou02")
    assert "陈本院" not in other.get("/institution/rosters/main").get_data(as_text=True)
    doctor = WebClient(app.test_client())
    doctor.login("doctor01")
    assert doctor.get("/institution/rosters/main.csv").status_code == 403


# What a spreadsheet program would run as a formula if a cell began with it (OWASP CSV injection)
FORMULAS = ['=HYPERLINK("http://e.x","点")', "+1+cmd|' /C calc'!A0", "-2+3+cmd|'/C calc'!A0",
            "@SUM(1+1)*cmd|'/C calc'!A0", "\t=1+2", "\r=1+2"]


def test_the_csv_never_hands_a_spreadsheet_a_formula(web: WebClient, web_world: World,
                                                      app: Flask) -> None:
    with app.app_context():
        evil_inst = Institution(name="=cmd|' /C calc'!A0", reg_no="R-140-9", kind="综合医院",
                                region_code="140106", authority_id=web_world.authority_id)
        db.session.add(evil_inst)
        db.session.flush()
        today = today_cst()
        for seq, name in enumerate(["陈本院", *FORMULAS], start=60):
            reg = Registration(qualification_id=make_qualification(name, seq).id, level="执业医师",
                               category="1", scopes=["11"], place_region="140000",
                               institution_id=web_world.hospital_id,
                               authority_id=web_world.authority_id, status="ACTIVE",
                               cert_no=f"1101401000{seq:05d}")
            db.session.add(reg)
            db.session.flush()
            db.session.add(MultiFiling(registration_id=reg.id, institution_id=evil_inst.id,
                                       scopes=["11"], valid_from=today,
                                       valid_to=today + timedelta(days=90),
                                       authority_id=web_world.authority_id, filed_on=today))
        db.session.commit()
    web.login("jigou01")
    for kind in ("main", "filed_out"):
        resp = web.get(f"/institution/rosters/{kind}.csv")
        assert resp.status_code == 200
        rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"), newline="")))
        names = {r[0] for r in rows[1:]}
        assert names == {"陈本院", *("'" + f for f in FORMULAS)}  # prefixed, otherwise unchanged
        assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for cell in r)
        if kind == "filed_out":
            assert {r[7] for r in rows[1:]} == {"'=cmd|' /C calc'!A0"}
            assert {r[8] for r in rows[1:]} == {today.isoformat()}  # dates as they were
    # the page itself shows the names as entered
    assert FORMULAS[0] in web.get("/institution/rosters/main").get_data(as_text=True).replace(
        "&#34;", '"')


def test_the_two_other_province_lists_and_their_csv(web: WebClient, web_world: World,
                                                     app: Flask) -> None:
    # R-2 [S10]: 主执业在本院-外省注册 and 多机构在本院-外省注册: the people of the 本院 lists who are
    # also registered in another province (the 外省 registration is shown beside ours)
    id_number = _data(app, web_world)  # 陈本院 (main here), 林外院 (filed here): Shanxi only
    with app.app_context():
        both = make_qualification("王两省", 53)
        filed_both = make_qualification("赵备案", 54)
        second = db.session.execute(db.select(Institution).where(
            Institution.reg_no == "R-140-8")).scalar_one()
        today = today_cst()
        regs = [Registration(qualification_id=q.id, level="执业医师", category="1", scopes=["11"],
                             place_region=place, institution_id=inst, authority_id=auth,
                             status="ACTIVE", cert_no=cert)
                for q, place, inst, auth, cert in [
                    (both, "140000", web_world.hospital_id, web_world.authority_id,
                     "110140100003333"),
                    (both, "530000", web_world.other_hospital_id, web_world.other_authority_id,
                     "110530100004444"),
                    (filed_both, "140000", second.id, web_world.authority_id, "110140100005555"),
                    (filed_both, "530000", web_world.other_hospital_id,
                     web_world.other_authority_id, "110530100006666")]]
        db.session.add_all(regs)
        db.session.flush()
        db.session.add(MultiFiling(registration_id=regs[2].id, institution_id=web_world.hospital_id,
                                   scopes=["11"], valid_from=today,
                                   valid_to=today + timedelta(days=90),
                                   authority_id=web_world.authority_id, filed_on=today))
        db.session.commit()
    web.login("jigou01")
    page = web.get("/institution/rosters/main_other_province").get_data(as_text=True)
    assert "主执业在本院-外省注册" in page and "多机构在本院-外省注册" in page  # both tabs
    assert "王两省" in page and "云南省" in page and "110530100004444" in page
    assert "陈本院" not in page and "赵备案" not in page and id_number not in page
    filed = web.get("/institution/rosters/filed_in_other_province").get_data(as_text=True)
    assert "赵备案" in filed and "110530100006666" in filed and "太原市中心医院" in filed
    assert "林外院" not in filed and "王两省" not in filed
    resp = web.get("/institution/rosters/filed_in_other_province.csv")
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][-3:] == ["外省注册地点", "外省注册机构", "外省执业证书编码"]
    assert [r[0] for r in rows[1:]] == ["赵备案"]
    assert rows[1][-3] == "云南省" and rows[1][-1] == "110530100006666"
    assert "主执业在本院-外省注册" in web.get(
        "/institution/rosters/main").get_data(as_text=True)  # reachable from the other lists
    other = WebClient(app.test_client())
    other.login("jigou02")  # the Yunnan hospital: its main physicians registered in Shanxi
    theirs = other.get("/institution/rosters/main_other_province").get_data(as_text=True)
    assert "王两省" in theirs and "110140100003333" in theirs and "山西省" in theirs
    assert "陈本院" not in theirs


def _large_roster(app: Flask, world: World, size: int = 2500) -> None:
    """``size`` physicians whose main institution is jigou01's hospital (医师00001 …), stored in
    reverse name order."""
    from datetime import date

    from app.models import Qualification
    with app.app_context():
        quals = [Qualification(cert_no=f"Q{n:026d}", name=f"医师{n:05d}", sex="男",
                               id_number=f"{n:017d}X", birth_date=date(1980, 1, 1), level="执业医师",
                               category="1", year=2005, issued_on=date(2005, 7, 1), issuer="国家卫生健康委员会")
                 for n in range(size, 0, -1)]
        db.session.add_all(quals)
        db.session.flush()
        db.session.add_all([Registration(qualification_id=q.id, level="执业医师", category="1",
                                         scopes=["11"], place_region="140000",
                                         institution_id=world.hospital_id,
                                         authority_id=world.authority_id, status="ACTIVE",
                                         cert_no=f"{120140100000000 + i}") for i, q in enumerate(quals)])
        db.session.commit()


def test_a_large_roster_csv_is_streamed_in_pieces(web: WebClient, web_world: World, app: Flask) -> None:
    # R-2 (名册 export): a 50,000-physician hospital's CSV is sent in pieces of a thousand rows
    # (issue 14 goal 5: constant memory), every row, in name order, the ID numbers masked
    _large_roster(app, web_world)
    web.login("jigou01")
    resp = web.client.get("/institution/rosters/main.csv", buffered=False)
    assert resp.status_code == 200 and "Content-Length" not in resp.headers
    pieces = [chunk for chunk in resp.response]
    resp.close()
    assert len(pieces) >= 3  # 2,500 rows: three pieces at least, not one body
    text = b"".join(p if isinstance(p, bytes) else p.encode() for p in pieces).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 2501 and rows[1][0] == "医师00001" and rows[-1][0] == "医师02500"
    assert "00000000000000001X" not in text and rows[1][1].endswith("1X") and "*" in rows[1][1]


def test_others_can_save_their_work_while_a_large_roster_csv_streams(
        web: WebClient, web_world: World, app: Flask) -> None:
    # issue 14 goal 5: the export reads on a connection of its own while it streams; on SQLite
    # that connection took the write lock (BEGIN IMMEDIATE) for the whole download, so every
    # physician's 提交 waited behind a 50,000-row export and failed after the busy timeout
    from sqlalchemy import text

    _large_roster(app, web_world)
    with app.app_context():
        engine = db.engine
    web.login("jigou01")
    resp = web.client.get("/institution/rosters/main.csv", buffered=False)
    pieces = iter(resp.response)
    first = next(pieces)  # the download has begun: its reader holds its transaction
    assert first
    with engine.connect() as other:  # someone else saves meanwhile, waiting at most 0.3 s
        try:
            if engine.dialect.name == "sqlite":
                other.exec_driver_sql("PRAGMA busy_timeout=300")
            else:
                other.exec_driver_sql("SET LOCAL lock_timeout = '300ms'")  # this transaction only
            other.execute(text("UPDATE qualification SET name = '医师改名' WHERE cert_no = :c"),
                          {"c": f"Q{1:026d}"})
            other.commit()
        finally:
            if engine.dialect.name == "sqlite":  # the pooled connection waits as configured again
                other.rollback()
                other.exec_driver_sql("PRAGMA busy_timeout=30000")
    rest = b"".join(p if isinstance(p, bytes) else p.encode() for p in pieces)
    resp.close()
    text_out = (first if isinstance(first, bytes) else first.encode()).decode("utf-8-sig") + rest.decode("utf-8")
    assert len(list(csv.reader(io.StringIO(text_out)))) == 2501  # the whole list still arrives
