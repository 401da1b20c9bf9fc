"""个人用户注册 and 医师账户激活: every rule of every field, through the pages."""

from __future__ import annotations

import re
from datetime import date
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage
from app.models import Registration
from app.models import Role
from app.models import User
from app.services.engine.clock import today_cst
from app.services.platform.seed import make_resident_id
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import make_qualification
from tests.statements import plan_of
from tests.statements import sent_of

GOOD_ID = "11010519491231002X"


def _step1(web: WebClient, name: str, id_number: str):  # type: ignore[no-untyped-def]
    web.get("/account/register")
    return web.post("/account/register", {"name": name, "id_number": id_number})


def _step2(web: WebClient, **over: str):  # type: ignore[no-untyped-def]
    data = {"mobile": "13912345678", "email": "zhang@example.cn", "username": "zhangsan01",
            "password": "Abc12345", "confirm": "Abc12345"}
    data.update(over)
    web.get("/account/register/account")
    return web.post("/account/register/account", data)


def _field_error(text: str, field: str) -> str:
    m = re.search(rf'id="field-{field}".*?<div class="error" role="alert">([^<]+)</div>', text, re.S)
    assert m, f"no message next to {field}"
    return m.group(1)


def test_step1_shows_the_guide_notes(web: WebClient) -> None:
    text = web.get("/account/register").get_data(as_text=True)
    for words in ("您的姓名", "身份证号", "确定，继续", "姓名不是登录用户名", "带有星号的为必填项",
                  "到所在机构获取激活码"):
        assert words in text


@pytest.mark.parametrize(("name", "id_number", "field", "message"), [
    ("", GOOD_ID, "name", "请填写您的姓名"),
    ("zhang3", GOOD_ID, "name", "不要输入字母及数字"),
    ("张", GOOD_ID, "name", "2至30个汉字"),
    ("张三", "", "id_number", "请填写身份证号"),
    ("张三", "110105194912310021", "id_number", "校验位不正确"),
    ("张三", "110105194902300025", "id_number", "出生日期无效"),
    ("张三", "990105194912310021", "id_number", "省级行政区划代码"),
    ("张三", "11010519491231", "id_number", "18位"),
])
def test_step1_each_invalid_case(web: WebClient, name: str, id_number: str, field: str,
                                 message: str) -> None:
    resp = _step1(web, name, id_number)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert message in _field_error(text, field)
    assert f'value="{name}"' in text and f'value="{id_number}"' in text  # input kept


@pytest.mark.parametrize("id_number", [GOOD_ID, "11010519491231002x", "110105491231002",
                                       "110199198001010016", "440524188001010014"])
def test_step1_valid_cases(web: WebClient, id_number: str) -> None:
    resp = _step1(web, "阿依古丽·买买提", id_number)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/register/account")


# DOMAIN §5 姓名: Chinese characters plus the middle dot for ethnic-minority names. A 生僻字
# (CJK Ext-B to Ext-G, the compatibility ideographs) is a Chinese character, and people type the
# dot in several ways; it is stored as the records write it, "·" U+00B7.
# 指南 1.1 #4 (您的姓名)
@pytest.mark.parametrize(("name", "stored"), [
    ("𠈌明", "𠈌明"), ("𠀀𠀁", "𠀀𠀁"), ("𰀀明", "𰀀明"), ("李\uf900", "李\uf900"), ("王\U0002f800", "王\U0002f800"),
    ("阿依古丽•买买提", "阿依古丽·买买提"), ("阿依古丽·买买提", "阿依古丽·买买提"),
    ("爱新觉罗・溥仪", "爱新觉罗·溥仪"), ("艾力‧买买提", "艾力·买买提"), ("李〇", "李〇")])
def test_step1_accepts_rare_characters_and_middle_dots(web: WebClient, name: str,
                                                       stored: str) -> None:
    # G-2: 指南 1.1 #4 您的姓名
    resp = _step1(web, name, GOOD_ID)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/register/account")
    resp = _step2(web)
    assert resp.status_code == 302
    page = web.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"<dt>您的姓名</dt><dd>{stored}</dd>" in page  # one form of the dot


# 指南 1.1 #4: the name typed with a bullet "•" or "・" matches the record written with "·"
@pytest.mark.parametrize("typed", ["阿依古丽•买买提", "阿依古丽・买买提", "阿依古丽‧买买提"])
def test_a_minority_name_with_another_dot_matches_the_record(web: WebClient, app: Flask,
                                                             clean_db: None, typed: str) -> None:
    with app.app_context():
        q = make_qualification("阿依古丽·买买提", 11)
        db.session.commit()
        rid = q.id_number
    _step1(web, typed, rid)
    _step2(web, username="ayiguli01")
    text = web.get("/account/activate").get_data(as_text=True)
    assert "恭喜，您已经通过医师资格信息校验！" in text
    assert "未查询到医师资格信息" not in text


@pytest.mark.parametrize("name", ["·张三", "张三·", "张··三", "张 三", "张三3", "张Ａ", "张３", "张•", "Zhang•San"])
def test_step1_refuses_a_dot_out_of_place(web: WebClient, name: str) -> None:
    resp = _step1(web, name, GOOD_ID)
    assert resp.status_code == 422
    assert "少数民族姓名可用间隔号" in _field_error(resp.get_data(as_text=True), "name")


# DOMAIN §5 (resident ID): 港澳台居民居住证 numbers (address code 810000, 820000, 830000) have the
# resident ID's form and check character.
@pytest.mark.parametrize("id_number", ["830000199001010012", "810000198506120024",
                                       "820000197809300038"])
def test_step1_accepts_residence_permit_numbers(web: WebClient, id_number: str) -> None:
    resp = _step1(web, "张三", id_number)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/register/account")


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def test_step1_refuses_a_person_under_eighteen(web: WebClient) -> None:
    # DOMAIN §5 (resident ID): the age is ≥ 18, on today's date in Beijing.
    eighteen_today = _years_before(today_cst(), 18)
    minor = make_resident_id("110105", eighteen_today + timedelta(days=1), 2)
    resp = _step1(web, "张三", minor)
    assert resp.status_code == 422
    assert _field_error(resp.get_data(as_text=True), "id_number") == (
        "按身份证号中的出生日期计算未满18周岁（须年满18周岁）")
    adult = make_resident_id("110105", eighteen_today, 2)
    assert _step1(web, "张三", adult).status_code == 302


def test_step1_does_not_tell_whether_an_id_number_has_an_account(web: WebClient, web_world: World,
                                                                   app: Flask) -> None:
    # issue 10 item 5: the same answer for an ID with an (activated) account and one without
    with app.app_context():
        taken = db.session.get(User, web_world.doctor_id).id_number
    owned = _step1(web, "宋宏强", taken.lower())
    other = WebClient(app.test_client())
    fresh = _step1(other, "张三", GOOD_ID)
    assert owned.status_code == fresh.status_code == 302
    assert owned.headers["Location"] == fresh.headers["Location"]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("mobile", "12912345678", "11位手机号码"),
    ("mobile", "1391234567", "11位手机号码"),
    ("email", "zhang@", "有效的电子邮箱"),
    ("username", "1zhangsan", "以字母开头"),
    ("username", "zhang", "6至12位"),
    ("username", "zhangsan123456", "6至12位"),
    ("username", "zhang_san", "数字和字母组合"),
    ("password", "Ab123", "6至16位"),
    ("password", "Abcdefgh", "同时包含字母和数字"),
    ("password", "12345678", "同时包含字母和数字"),
    ("password", "Abc12345Abc123456", "6至16位"),
    ("password", "Abc 12345", "6至16位"),
    ("confirm", "Abc12346", "两次输入的密码不一致"),
])
def test_step2_each_invalid_case(web: WebClient, field: str, value: str, message: str) -> None:
    # guide 个人用户注册: user name and password rules
    _step1(web, "张三", GOOD_ID)
    resp = _step2(web, **{field: value})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert message in _field_error(text, field)
    for kept, default in (("mobile", "13912345678"), ("email", "zhang@example.cn"),
                          ("username", "zhangsan01")):
        assert f'value="{value if kept == field else default}"' in text
    assert 'value="Abc12345"' not in text  # passwords are never sent back


def test_step2_username_must_be_unique_case_insensitively(web: WebClient,
                                                          web_world: World) -> None:
    _step1(web, "张三", GOOD_ID)
    resp = _step2(web, username="DOCTOR01")
    assert "已被使用" in _field_error(resp.get_data(as_text=True), "username")


# R-50 (DOMAIN §5 用户名 [Guide], 指南 1.1 "医师自己设置用户名"): unique whatever its case
def test_zhang_and_zhang_in_another_case_cannot_both_register(web: WebClient, app: Flask,
                                                              clean_db: None) -> None:
    _step1(web, "张三", GOOD_ID)
    first = _step2(web, username="Zhangsan01")
    assert first.status_code == 302 and first.headers["Location"].endswith("/account/activate")
    other = WebClient(app.test_client())
    _step1(other, "李四", "110105194912310038")
    resp = _step2(other, username="zhangsan01")
    assert resp.status_code == 422
    text = resp.get_data(as_text=True)
    assert "该用户名已被使用，请换一个" in _field_error(text, "username")
    assert 'value="zhangsan01"' in text  # input kept
    with app.app_context():  # stored in its canonical (lower) case, so the check is an index lookup
        assert db.session.scalars(select(User.username).where(User.role == Role.PHYSICIAN)).all() == [
            "zhangsan01"]
    # the name signs in whatever case is typed (用户名/手机号码/资格证书编码)
    again = WebClient(app.test_client())
    assert again.login("ZHANGSAN01", "Abc12345").status_code == 302
    assert again.get("/account/activate").status_code == 200


def test_a_name_taken_alongside_is_refused_by_the_unique_index(web: WebClient, app: Flask, clean_db: None,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # R-50 (用户名 unique): two sign-ups of "Zhangsan01" and "zhangsan01" at the same moment both
    # pass the check; the unique index on the canonical name refuses the second, next to the field
    from app.services.accounts import signup
    _step1(web, "张三", GOOD_ID)
    assert _step2(web, username="Zhangsan01").status_code == 302
    monkeypatch.setattr(signup, "canonical_username", lambda name: "not-yet-taken")  # the check sees nothing
    other = WebClient(app.test_client())
    _step1(other, "李四", "110105194912310038")
    resp = _step2(other, username="zhangsan01")
    assert resp.status_code == 422
    text = resp.get_data(as_text=True)
    assert "该用户名已被使用，请换一个" in _field_error(text, "username") and 'value="zhangsan01"' in text
    with app.app_context():
        assert db.session.scalars(select(User.username).where(User.role == Role.PHYSICIAN)).all() == [
            "zhangsan01"]


def test_the_taken_check_is_a_lookup_in_the_unique_index(web: WebClient, app: Flask, clean_db: None) -> None:
    # issue 14 goal 5 (个人用户注册 at national volume) and R-50: "该用户名已被使用" reads the
    # unique index of user_account.username, not every account through lower(username)
    _step1(web, "张三", GOOD_ID)
    web.get("/account/register/account")
    data = {"mobile": "13912345678", "email": "zhang@example.cn", "username": "ZhangSan01",
            "password": "Abc12345", "confirm": "Abc12345"}
    sent, resp = sent_of(app, lambda: web.post("/account/register/account", data))
    assert resp.status_code == 302
    [(taken, params)] = [(s, p) for s, p in sent if s.lstrip().upper().startswith("SELECT")
                         and "FROM user_account" in s and "username" in s.split("WHERE", 1)[-1]]
    assert "zhangsan01" in str(params)  # the canonical name is what is looked up
    plan = plan_of(app, taken, params)
    assert re.search(r"SEARCH user_account USING (COVERING )?INDEX \S+ \(username=\?\)"
                     r"|Index (Only )?Scan using uq_user_account_username", plan), plan
    assert "Seq Scan" not in plan, plan


def test_no_match_shows_guidance_and_identity_can_be_corrected(web: WebClient, app: Flask,
                                                               clean_db: None) -> None:
    # DOMAIN [S7][S13]: 老人老办法 guidance and the military exchange guidance
    with app.app_context():
        q = make_qualification("李四", 5)
        db.session.commit()
        real_id = q.id_number
    _step1(web, "李四", GOOD_ID)
    resp = _step2(web)
    assert resp.headers["Location"].endswith("/account/activate")
    text = web.get("/account/activate").get_data(as_text=True)
    assert "未查询到医师资格信息！未查询到医师执业注册信息！" in text
    for words in ("老人老办法", "新人新办法", "军队离休及复转退人员", "检查和更新我的身份信息"):
        assert words in text
    assert web.get("/account/guide/military").status_code == 200
    assert web.get("/physician/").status_code == 302  # not activated: no physician pages
    web.get("/account/activate/identity")
    resp = web.post("/account/activate/identity", {"name": "李四", "id_number": real_id})
    assert resp.status_code == 302
    assert "恭喜，您已经通过医师资格信息校验！" in web.get("/account/activate").get_data(as_text=True)


def _verify_phone(web: WebClient, app: Flask, mobile: str = "13912345678") -> None:
    web.get("/account/security/mobile")
    web.post("/account/security/mobile", {"action": "send", "target": mobile})
    with app.app_context():
        body = db.session.scalar(select(OutboxMessage.body).where(
            OutboxMessage.recipient == mobile).order_by(OutboxMessage.id.desc()))
    code = re.search(r"\d{6}", body or "").group(0)
    resp = web.post("/account/security/mobile", {"action": "confirm", "target": mobile,
                                                 "code": code})
    assert resp.status_code == 302, resp.get_data(as_text=True)


def test_path_b_activates_with_the_qualification_code(web: WebClient, app: Flask,
                                                      clean_db: None) -> None:
    with app.app_context():
        q = make_qualification("王五", 6)
        db.session.commit()
        rid, cert = q.id_number, q.cert_no
    _step1(web, "王五", rid)
    _step2(web, username="wangwu01")
    text = web.get("/account/activate").get_data(as_text=True)
    assert "点击此处验证手机" in text
    resp = web.post("/account/activate", {"path": "B", "cert_no": cert}, follow_redirects=True)
    assert "请先验证您的手机号" in resp.get_data(as_text=True)
    _verify_phone(web, app)
    text = web.get("/account/activate").get_data(as_text=True)
    assert "输入资格证书编码激活账户" in text
    resp = web.post("/account/activate", {"path": "B", "cert_no": cert[:-1] + "0"})
    assert "资格证书编码与您的资格信息不符" in resp.get_data(as_text=True)
    resp = web.post("/account/activate", {"path": "B", "cert_no": cert.lower()})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/physician/")
    home = web.get("/physician/", follow_redirects=True).get_data(as_text=True)
    assert "恭喜，您的账户已激活！" in home and "业务申请" in home
    web.post("/logout")
    resp = web.login(cert, "Abc12345")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/physician/")
    web.post("/logout")
    resp = web.login("13912345678", "Abc12345")
    assert resp.status_code == 302  # the verified phone signs in too


# 医师法 第十六条 bars re-registration for two years, never the account: REVOKED-only
# takes path B like the other invalid statuses
@pytest.mark.parametrize("status", ["CHANGED_OUT", "FILED", "CANCELLED", "RESIDENCY", "REVOKED"])
def test_invalid_registrations_take_path_b(web: WebClient, web_world: World, app: Flask,
                                           status: str) -> None:
    # 医师执业注册管理办法 第二十条: 规培 and registrations not in force activate by path B
    with app.app_context():
        q = make_qualification("赵六", 7)
        db.session.add(Registration(qualification_id=q.id, level="执业医师", category="1",
                                    scopes=["11"], place_region="140000",
                                    institution_id=web_world.hospital_id,
                                    authority_id=web_world.authority_id, status=status,
                                    cert_no="110140100999001"))
        db.session.commit()
        rid = q.id_number
    _step1(web, "赵六", rid)
    _step2(web, username="zhaoliu01")
    _verify_phone(web, app)
    assert "输入资格证书编码激活账户" in web.get("/account/activate").get_data(as_text=True)


def test_path_a_needs_the_institution_code(web: WebClient, web_world: World, app: Flask) -> None:
    with app.app_context():
        q = make_qualification("孙七", 8)
        reg = Registration(qualification_id=q.id, level="执业医师", category="1", scopes=["11"],
                           place_region="140000", institution_id=web_world.hospital_id,
                           authority_id=web_world.authority_id, status="ACTIVE",
                           cert_no="110140100999002")
        db.session.add(reg)
        db.session.commit()
        rid, reg_id = q.id_number, reg.id
    _step1(web, "孙七", rid)
    _step2(web, username="sunqi001")
    _verify_phone(web, app)
    text = web.get("/account/activate").get_data(as_text=True)
    assert "输入激活码激活账户" in text and "山西大学医院" in text
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    roster = staff.get("/institution/activation-codes").get_data(as_text=True)
    assert "孙七" in roster and "待激活" in roster and rid not in roster
    page = staff.post(f"/institution/activation-codes/{reg_id}",
                      follow_redirects=True).get_data(as_text=True)
    code = re.search(r'id="activation-code">([A-Z0-9]{8})<', page).group(1)
    # never to the phone the account declared (issue 10 item 2): handed over in person
    assert "请将激活码当面交给医师本人" in page
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.body.contains(code))) is None
    resp = web.post("/account/activate", {"path": "A", "code": code.lower()})
    assert resp.status_code == 302
    assert "有效" in web.get("/physician/practice").get_data(as_text=True)
    other = WebClient(app.test_client())
    other.login("jigou02")
    assert other.post(f"/institution/activation-codes/{reg_id}").status_code == 404


def test_birth_date_is_checked_in_the_15_digit_form(web: WebClient) -> None:
    rid15 = make_resident_id("110105", date(1949, 12, 31), 2)[:6] + "491331002"
    resp = _step1(web, "张三", rid15)
    assert "出生日期无效" in _field_error(resp.get_data(as_text=True), "id_number")


def test_path_b_stops_after_five_wrong_certificate_numbers(web: WebClient, app: Flask,
                                                           clean_db: None) -> None:
    with app.app_context():
        q = make_qualification("钱十", 9)
        db.session.commit()
        rid, cert = q.id_number, q.cert_no
    _step1(web, "钱十", rid)
    _step2(web, username="qianshi01")
    _verify_phone(web, app)
    wrong = cert[:-1] + ("1" if cert[-1] != "1" else "2")
    for _ in range(5):
        resp = web.post("/account/activate", {"path": "B", "cert_no": wrong})
        assert f'value="{wrong}"' in resp.get_data(as_text=True)  # what was typed stays
    resp = web.post("/account/activate", {"path": "B", "cert_no": cert})
    assert resp.status_code == 422 and "错误次数过多" in resp.get_data(as_text=True)


def test_reloading_the_issued_code_page_issues_nothing_new(web: WebClient, web_world: World,
                                                            app: Flask) -> None:
    with app.app_context():
        q = make_qualification("郑十一", 10)
        reg = Registration(qualification_id=q.id, level="执业医师", category="1", scopes=["11"],
                           place_region="140000", institution_id=web_world.hospital_id,
                           authority_id=web_world.authority_id, status="ACTIVE",
                           cert_no="110140100999003")
        db.session.add(reg)
        db.session.commit()
        reg_id = reg.id
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    staff.get("/institution/activation-codes")
    resp = staff.post(f"/institution/activation-codes/{reg_id}")
    assert resp.status_code == 302
    page = staff.get(resp.headers["Location"]).get_data(as_text=True)
    assert re.search(r'id="activation-code">[A-Z0-9]{8}<', page)
    again = staff.get(resp.headers["Location"])
    assert again.status_code == 302 and again.headers["Location"].endswith("/activation-codes")
    with app.app_context():
        from app.models import ActivationCode

        assert db.session.scalar(select(func.count()).select_from(ActivationCode)) == 1


def _menu(text: str) -> dict[str, str]:
    nav = text.split('<nav class="side"', 1)[1].split("</nav>", 1)[0]
    return {label: href for href, label in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav)}


# 指南 1.3 #2 (身份信息更新 / 安全设置 on the activation screens) and the FAQ 未验证到医师资格怎么办
# #2 ("请在系统内“资格补【改】指南”菜单中查看解决办法"): a matched but not yet activated user
# corrects name and ID from the menu, and finds the three guides there
def test_activation_menu_offers_identity_update_and_the_guides(web: WebClient, app: Flask,
                                                                clean_db: None) -> None:
    # G-24: 指南 FAQ 未验证 #2 资格补【改】指南
    # G-5: 指南 1.3 #2 身份信息更新
    with app.app_context():
        q = make_qualification("周八", 12)
        db.session.commit()
        rid = q.id_number
    _step1(web, "周八", rid)
    _step2(web, username="zhouba01")
    menu = _menu(web.get("/account/activate").get_data(as_text=True))
    assert list(menu) == ["医师账户激活", "身份信息更新", "资格补【改】指南", "安全设置"]
    guides = web.get(menu["资格补【改】指南"]).get_data(as_text=True)
    assert "当前位置 &gt; 首页 &gt; 资格补【改】指南" in guides
    for href, title in (("/account/guide/old", "老人老办法医师资格信息修改及补录指南"),
                        ("/account/guide/new", "新人新办法医师资格信息修改及补录指南"),
                        ("/account/guide/military", "军队离休及复转退人员医师资格信息补录指南")):
        assert f'<a href="{href}">{title}</a>' in guides
        page = web.get(href).get_data(as_text=True)
        assert title in page and 'href="/account/guides"' in page  # back to the list
    assert "简称“老人老办法资格”" in guides
    # the matched user finds a typing error in the ID and corrects it from the menu
    web.get(menu["身份信息更新"])
    resp = web.post(menu["身份信息更新"], {"name": "周八", "id_number": GOOD_ID})
    assert resp.status_code == 302
    text = web.get("/account/activate").get_data(as_text=True)
    assert "未查询到医师资格信息！" in text
    web.post(menu["身份信息更新"], {"name": "周八", "id_number": rid})
    assert "恭喜，您已经通过医师资格信息校验！" in web.get("/account/activate").get_data(as_text=True)


# 指南 1.3 #3 and FAQ path B #4: step 2 (the phone verified) says the guide's line
# "恭喜，您已经通过医师信息校验！"; step 1 says "…医师资格信息校验！"
def test_step_two_says_the_guides_line(web: WebClient, app: Flask, clean_db: None) -> None:
    # G-23: 指南 FAQ 无效状态 #4 恭喜
    # G-7: 指南 第二步 #3 恭喜
    with app.app_context():
        q = make_qualification("吴九", 13)
        db.session.commit()
        rid = q.id_number
    _step1(web, "吴九", rid)
    _step2(web, username="wujiu001")
    step1 = web.get("/account/activate").get_data(as_text=True)
    assert "医师账户激活第一步 医师信息校验" in step1
    assert "恭喜，您已经通过医师资格信息校验！" in step1 and "通过医师信息校验" not in step1
    _verify_phone(web, app)
    step2 = web.get("/account/activate").get_data(as_text=True)
    assert "医师账户激活第二步 输入资格证书编码激活账户" in step2
    assert "恭喜，您已经通过医师信息校验！" in step2 and "医师资格信息校验" not in step2


def _sms(app: Flask, mobile: str, subject: str = "账户激活码") -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(OutboxMessage.body).where(
            OutboxMessage.recipient == mobile, OutboxMessage.subject == subject)
            .order_by(OutboxMessage.id)))


def _verify_and_open(web: WebClient, app: Flask, mobile: str) -> str:
    web.get("/account/security/mobile")
    web.post("/account/security/mobile", {"action": "send", "target": mobile})
    with app.app_context():
        body = db.session.scalar(select(OutboxMessage.body).where(
            OutboxMessage.recipient == mobile).order_by(OutboxMessage.id.desc()))
    code = re.search(r"\d{6}", body or "").group(0)
    resp = web.post("/account/security/mobile", {"action": "confirm", "target": mobile,
                                                 "code": code}, follow_redirects=True)
    return resp.get_data(as_text=True)


# 指南 1.3 #8: "手机号码验证成功后，激活码会以短信方式发送至您的手机。" A code the institution
# generated before the physician verified the phone is sent (as a fresh code replacing it) when
# the phone verified is the one the institution checked in person; a stranger who signed up
# with the same name and ID and verified another phone receives nothing.
def test_the_code_is_sent_when_the_institutions_phone_is_verified(web: WebClient,
                                                                   web_world: World,
                                                                   app: Flask) -> None:
    # G-6: 指南 1.3 #8 激活码以短信方式发送
    with app.app_context():
        q = make_qualification("冯十二", 14)
        reg = Registration(qualification_id=q.id, level="执业医师", category="1", scopes=["11"],
                           place_region="140000", institution_id=web_world.hospital_id,
                           authority_id=web_world.authority_id, status="ACTIVE",
                           cert_no="110140100999014")
        db.session.add(reg)
        db.session.commit()
        rid, reg_id = q.id_number, reg.id
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    staff.get("/institution/activation-codes")
    page = staff.post(f"/institution/activation-codes/{reg_id}",
                      follow_redirects=True).get_data(as_text=True)
    handed = re.search(r'id="activation-code">([A-Z0-9]{8})<', page).group(1)  # never handed over
    staff.post(f"/institution/activation-codes/{reg_id}/mobile", {"mobile": "13912345678"})
    assert _sms(app, "13912345678") == []  # generated before the phone was recorded

    stranger = WebClient(app.test_client())
    _step1(stranger, "冯十二", rid)
    _step2(stranger, username="stranger01", mobile="13700000000")
    text = _verify_and_open(stranger, app, "13700000000")
    assert "验证成功！" in text and "激活码已以短信方式发送" not in text
    assert _sms(app, "13700000000") == []

    _step1(web, "冯十二", rid)
    _step2(web, username="fengshi01", mobile="13912345678")
    text = _verify_and_open(web, app, "13912345678")
    assert "医师账户激活第二步 输入激活码激活账户" in text
    assert "激活码已以短信方式发送至您的手机" in text
    sent = _sms(app, "13912345678")
    assert len(sent) == 1
    code = re.search(r"激活码为 ([A-Z0-9]{8})", sent[0]).group(1)
    assert code not in text and code != handed
    resp = web.post("/account/activate", {"path": "A", "code": handed})
    assert "激活码不正确或已失效" in resp.get_data(as_text=True)  # replaced by the one sent
    resp = web.post("/account/activate", {"path": "A", "code": code})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/physician/")
    assert "有效" in web.get("/physician/practice").get_data(as_text=True)


# 指南 1.3 #8: a code that already went to the institution's phone is not replaced; the sending
# on verification is limited per identity (three a day)
def test_the_code_is_sent_again_at_most_three_times_a_day(web_world: World, app: Flask) -> None:
    from app.models import ActivationCode
    from app.services.accounts import activation
    from tests.factories import make_user
    from tests.factories import user as user_of

    with app.app_context():
        q = make_qualification("陈十三", 15)
        reg = Registration(qualification_id=q.id, level="执业医师", category="1", scopes=["11"],
                           place_region="140000", institution_id=web_world.hospital_id,
                           authority_id=web_world.authority_id, status="ACTIVE",
                           cert_no="110140100999015", roster_mobile="13912345679")
        db.session.add(reg)
        db.session.flush()
        staff = user_of(web_world.staff_id)
        activation.issue(staff, reg.id)  # sent to the recorded phone at once
        doc = make_user("chenshi01", Role.PHYSICIAN, "陈十三", qualification_id=q.id,
                        id_number=q.id_number, mobile="13912345679", mobile_verified=True,
                        activated=False)
        db.session.commit()
        assert activation.send_on_verified(doc) is False  # that code stays valid
        results = []
        for _ in range(4):  # codes generated before the phone was recorded
            reg.roster_mobile = None
            activation.issue(staff, reg.id)
            reg.roster_mobile = "13912345679"
            results.append(activation.send_on_verified(doc))
            db.session.commit()
        assert results == [True, True, True, False]
        live = db.session.scalars(select(ActivationCode).where(
            ActivationCode.id_number == q.id_number, ActivationCode.revoked_at.is_(None))).all()
        assert len(live) == 1  # every sending replaced the earlier code
    assert len(_sms(app, "13912345679")) == 4  # the first issue and three sendings


# FAQ 处于注册无效状态及规培的医师如何激活 #1: path B is for "有资格未注册 / 变更出 / 注册备案 / 注销 /
# 规培 / 其他处于无效状态"; 暂停执业 and 变更中 registrations are still in force at a main
# institution (which can issue the code: 指南 1.3 第二步), so they take path A
@pytest.mark.parametrize(("status", "seq"), [("SUSPENDED", 16), ("PENDING_CHANGE", 17)])
def test_suspended_and_changing_registrations_take_path_a(web: WebClient, web_world: World,
                                                          app: Flask, status: str,
                                                          seq: int) -> None:
    with app.app_context():
        q = make_qualification("褚十四", seq)
        db.session.add(Registration(qualification_id=q.id, level="执业医师", category="1",
                                    scopes=["11"], place_region="140000",
                                    institution_id=web_world.hospital_id,
                                    authority_id=web_world.authority_id, status=status,
                                    cert_no=f"1101401009990{seq}"))
        db.session.commit()
        rid = q.id_number
    _step1(web, "褚十四", rid)
    _step2(web, username=f"chushi{seq}")
    _verify_phone(web, app)
    text = web.get("/account/activate").get_data(as_text=True)
    assert "医师账户激活第二步 输入激活码激活账户" in text and "山西大学医院" in text


# R-37 (医师法 第十六条): a physician whose only record is 吊销 activates by path B and sees the
# records; the two-year bar applies to 注册, not to the account
def test_a_revoked_only_physician_activates_and_sees_the_records(web: WebClient,
                                                                 web_world: World,
                                                                 app: Flask) -> None:
    # G-22: 指南 FAQ 无效状态 #1
    with app.app_context():
        q = make_qualification("卫十五", 18)
        db.session.add(Registration(qualification_id=q.id, level="执业医师", category="1",
                                    scopes=["11"], place_region="140000",
                                    institution_id=web_world.hospital_id,
                                    authority_id=web_world.authority_id, status="REVOKED",
                                    cert_no="110140100999018"))
        db.session.commit()
        rid, cert = q.id_number, q.cert_no
    _step1(web, "卫十五", rid)
    _step2(web, username="weishiwu1")
    _verify_phone(web, app)
    resp = web.post("/account/activate", {"path": "B", "cert_no": cert})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/physician/")
    practice = web.get("/physician/practice").get_data(as_text=True)
    assert "110140100999018" in practice and "吊销" in practice
    assert "已被吊销" in web.get("/physician/apply").get_data(as_text=True)  # the bar on 注册
