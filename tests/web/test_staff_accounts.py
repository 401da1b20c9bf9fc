"""用户管理 (administrator) and 工作人员账户 (an institution's 机构管理员): create with a password
shown once, disable, reset, unlock; each stays within its scope."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask

from app.extensions import db
from app.models import AuditEvent
from app.models import User
from app.models.base import utcnow
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import make_org_admin


def _user(app: Flask, username: str) -> User:
    with app.app_context():
        u = db.session.query(User).filter_by(username=username).one()
        db.session.expunge(u)
        db.session.remove()
        return u


def _password(html: str) -> str:
    m = re.search(r'id="issued-password">([A-Za-z0-9]+)<', html)
    assert m, html
    return m.group(1)


def test_org_admin_creates_a_colleague_who_can_sign_in(app: Flask, web: WebClient, web_world: World) -> None:
    make_org_admin(app, web_world.staff_id)
    web.login("jigou01")
    assert "工作人员账户" in web.get("/inbox/").get_data(as_text=True)
    bad = web.post("/institution/staff", {"username": "1x", "display_name": "李"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "用户名为 4–30 位字母" in html and "请填写姓名或科室名称" in html and 'value="1x"' in html
    resp = web.post("/institution/staff", {"username": "jigou01b", "display_name": "医务科李四",
                                           "role": "admin", "org_code": "R-530-1"}, follow_redirects=True)
    password = _password(resp.get_data(as_text=True))
    again = web.get("/institution/staff/issued", follow_redirects=True).get_data(as_text=True)
    assert password not in again  # shown once
    new = _user(app, "jigou01b")  # the role and institution asked for are ignored: own institution only
    assert (new.role.value, new.institution_id, new.org_admin) == ("institution", web_world.hospital_id, False)
    colleague = WebClient(app.test_client())
    assert colleague.login("jigou01b", password).status_code == 302

    web.post(f"/institution/staff/{new.id}/disable", {})
    assert WebClient(app.test_client()).login("jigou01b", password).status_code != 302
    reset = web.post(f"/institution/staff/{new.id}/reset", {}, follow_redirects=True)
    web.post(f"/institution/staff/{new.id}/enable", {})
    assert WebClient(app.test_client()).login("jigou01b", _password(reset.get_data(as_text=True))).status_code == 302
    with app.app_context():
        actions = [e.action for e in db.session.query(AuditEvent).filter_by(object_id=str(new.id))
                   if e.action != "account.login"]
        assert actions == ["account.created", "account.disabled", "account.password_reset", "account.enabled"]
        db.session.remove()


def test_staff_pages_stay_inside_the_institution(app: Flask, web: WebClient, web_world: World) -> None:
    make_org_admin(app, web_world.staff_id)
    web.login("jigou01")
    listing = web.get("/institution/staff").get_data(as_text=True)
    assert "jigou02" not in listing and "weijian01" not in listing and "doctor01" not in listing
    for target in (web_world.other_staff_id, web_world.officer_id, web_world.doctor_id):
        assert web.post(f"/institution/staff/{target}/reset", {}).status_code == 404
    plain = WebClient(app.test_client())
    plain.login("jigou02")  # not a 机构管理员
    assert plain.get("/institution/staff").status_code == 403
    assert "工作人员账户" not in plain.get("/inbox/").get_data(as_text=True)
    assert plain.post(f"/institution/staff/{web_world.staff_id}/disable", {}).status_code == 403


def test_admin_manages_every_role_and_unlocks(app: Flask, web: WebClient, web_world: World) -> None:
    web.login("admin01")
    resp = web.post("/admin/users", {"role": "commission", "username": "weijian09",
                                     "display_name": "太原市卫健委科员", "org_code": "140100"},
                    follow_redirects=True)
    assert _password(resp.get_data(as_text=True))
    assert _user(app, "weijian09").authority_id == web_world.authority_id
    wrong = web.post("/admin/users", {"role": "institution", "username": "jigou09",
                                      "display_name": "某院", "org_code": "NOPE"})
    assert wrong.status_code == 422 and "没有登记号为 NOPE 的医疗机构" in wrong.get_data(as_text=True)
    physician = web.post("/admin/users", {"role": "physician", "username": "doctor09", "display_name": "某某"})
    assert "医师账户由医师本人注册" in physician.get_data(as_text=True)
    with app.app_context():
        locked = db.session.get(User, web_world.doctor_id)
        assert locked is not None
        locked.failed_logins, locked.locked_until = 5, utcnow() + timedelta(minutes=15)
        db.session.commit()
        db.session.remove()
    assert "已锁定" in web.get("/admin/users?role=physician").get_data(as_text=True)
    web.post(f"/admin/users/{web_world.doctor_id}/unlock", {})
    assert _user(app, "doctor01").locked_until is None
    web.post(f"/admin/users/{web_world.other_staff_id}/org_admin_on", {})
    assert _user(app, "jigou02").org_admin is True
    own = web.post(f"/admin/users/{web_world.admin_id}/disable", {}, follow_redirects=True)
    assert "不能停用自己的账户" in own.get_data(as_text=True) and _user(app, "admin01").active


def test_a_staff_name_taken_in_another_case_is_refused(app: Flask, web: WebClient, web_world: World) -> None:
    # R-50 (DOMAIN §5 用户名: unique): "DOCTOR01" is doctor01's name; the new colleague's name is
    # stored in its canonical case and signs in as typed
    make_org_admin(app, web_world.staff_id)
    web.login("jigou01")
    bad = web.post("/institution/staff", {"username": "DOCTOR01", "display_name": "医务科王五"})
    assert bad.status_code == 422
    assert "该用户名已被使用" in bad.get_data(as_text=True) and 'value="DOCTOR01"' in bad.get_data(as_text=True)
    resp = web.post("/institution/staff", {"username": "JiGou01C", "display_name": "医务科王五"},
                    follow_redirects=True)
    assert "jigou01c" in resp.get_data(as_text=True)
    assert WebClient(app.test_client()).login("JiGou01C", _password(resp.get_data(as_text=True))).status_code == 302
