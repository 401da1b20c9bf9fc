"""The institution's 30-day duty to report a 注销 / 备案 event (医师法 第十七条): the 报告注销 page
states it next to 事由发生日期 and warns, without blocking, how many days past it a report is."""

from __future__ import annotations

import re
from datetime import date
from datetime import timedelta

from flask import Flask

from app.extensions import db
from app.models import Registration
from app.services.engine.clock import today_cst
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import user


def _registration(app: Flask, world: World) -> int:
    with app.app_context():
        reg = Registration(qualification_id=user(world.doctor_id).qualification_id,
                           level="执业医师", category="1", scopes=["11"], place_region="140000",
                           institution_id=world.hospital_id, authority_id=world.authority_id,
                           status="ACTIVE", cert_no="110140100007777", approved_on=date(2020, 1, 1))
        db.session.add(reg)
        db.session.commit()
        return reg.id


def _staff(app: Flask, username: str = "jigou01") -> WebClient:
    client = WebClient(app.test_client())
    client.login(username)
    return client


def _date_field(page: str) -> str:
    found = re.search(r'<div class="field[^"]*" id="field-event_date">.*?</div>\s*</div>', page,
                      re.S)
    assert found is not None
    return found.group(0)


def test_the_page_states_the_thirty_day_duty_next_to_the_date(app: Flask,
                                                              web_world: World) -> None:
    # 医师法 第十七条 (医疗机构应当自知道或者应当知道之日起三十日内报告); R-4
    _registration(app, web_world)
    page = _staff(app).get("/inbox/cancel").get_data(as_text=True)
    box = _date_field(page)
    assert "事由发生日期" in box and "三十日内报告" in box and "《医师法》第十七条" in box
    assert "已超过" not in page
    assert 'data-report-days="30"' in page and "report_deadline.js" in page  # as it is typed
    officer = _staff(app, "weijian01").get("/inbox/cancel").get_data(as_text=True)
    assert "三十日内报告" not in _date_field(officer)  # 依职权注销 has no such duty


def test_a_late_date_is_warned_after_a_refused_attempt_and_does_not_block(
        app: Flask, web_world: World) -> None:
    # 医师法 第十七条 (30 days); R-4: the warning does not block the report
    reg_id = _registration(app, web_world)
    staff = _staff(app)
    late = (today_cst() - timedelta(days=45)).isoformat()
    resp = staff.post("/inbox/cancel", {"registration_id": str(reg_id), "reason": "",
                                        "event_date": late, "note": "死亡"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    box = _date_field(page)
    assert "已超过 30 日报告期限 15 天" in box and f'value="{late}"' in box
    assert re.search(r'id="field-reason".*?role="alert"', page, re.S)
    resp = staff.post("/inbox/cancel", {"registration_id": str(reg_id), "reason": "death",
                                        "event_date": late, "note": "死亡"},
                      follow_redirects=True)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "已提交，请在待办任务中跟踪办理进度" in text
    assert "本次报告已超过 30 日报告期限 15 天，已标注逾期报告" in text


def test_a_report_within_thirty_days_gets_no_warning(app: Flask, web_world: World) -> None:
    # 医师法 第十七条: the 30th day is still in time; R-4
    reg_id = _registration(app, web_world)
    staff = _staff(app)
    in_time = (today_cst() - timedelta(days=30)).isoformat()
    resp = staff.post("/inbox/cancel", {"registration_id": str(reg_id), "reason": "",
                                        "event_date": in_time})
    assert resp.status_code == 422 and "已超过" not in resp.get_data(as_text=True)
    text = staff.post("/inbox/cancel", {"registration_id": str(reg_id), "reason": "death",
                                        "event_date": in_time},
                      follow_redirects=True).get_data(as_text=True)
    assert "已提交" in text and "已超过" not in text
