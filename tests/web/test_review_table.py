"""The paper step (R-39): the 申请审核表 the system prints after submission, the institution's
signed copy at its confirmation, what the commission sees, and the public check of the QR code."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import re
import subprocess
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.models import PhysicianProfile
from app.models import ProcessDefinition
from app.models import ProcessInstance
from app.models import User
from app.models.base import utcnow
from app.services.applications import attachments
from app.services.backoffice import definitions
from tests.conftest import WebClient
from tests.factories import PDF
from tests.factories import World
from tests.factories import photo_jpeg


def _photo_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (330, 480), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def _submit(web: WebClient, world: World, app: Flask) -> int:
    with app.app_context():  # the physician's approved photo
        doctor = db.session.get(User, world.doctor_id)
        assert doctor is not None and doctor.qualification_id is not None
        ref = attachments.store(world.upload_dir, attachments.Upload("照片.png", _photo_png()),
                                doctor.id)
        prof = db.session.get(PhysicianProfile, doctor.qualification_id)
        if prof is None:
            prof = PhysicianProfile(qualification_id=doctor.qualification_id)
            db.session.add(prof)
        prof.photo_sha256 = ref["sha256"]
        db.session.commit()
    web.login("doctor01")
    web.get("/physician/apply/registration")
    resp = web.post("/physician/apply/registration", {
        "institution_id": str(world.hospital_id), "department_id": str(world.department_id),
        "practice_scopes": ["11"], "contact_mobile": "15175070658",
        "declare_health": "on", "declare_no_bar": "on",
        "employment_proof": (io.BytesIO(PDF), "聘用证明.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with app.app_context():
        return int(db.session.scalar(select(ProcessInstance.id)) or 0)


def test_the_physician_prints_the_review_table_after_submitting(web: WebClient, web_world: World,
                                                                 app: Flask) -> None:
    # 医师执业注册管理办法 第十二条 / R-39: the physician no longer uploads a signed scan at
    # submission; the system prints the 申请审核表 from the submitted application
    web.login("doctor01")
    form_page = web.get("/physician/apply/registration")
    assert 'name="application_form"' not in form_page.get_data(as_text=True)
    iid = _submit(web, web_world, app)
    detail = web.get(f"/physician/applications/{iid}").get_data(as_text=True)
    assert "打印申请审核表" in detail
    link = re.search(r'href="([^"]+review-table\.pdf)"', detail)
    assert link is not None
    resp = web.client.get(link.group(1))
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(resp.data))
    text = "".join(page.extract_text() for page in reader.pages)
    squeezed = re.sub(r"\s+", "", text)
    assert len(reader.pages) == 1  # one sheet to sign and stamp
    assert "《医师执业注册申请审核表》" in squeezed
    for label in ("拟执业机构", "科室", "执业范围", "联系电话", "聘用证明", "受理编号"):
        assert label in squeezed, label  # the form's Chinese titles
    assert "山西大学医院" in squeezed and "15175070658" in squeezed  # the values
    assert "聘用证明.pdf" in squeezed and str(iid) in squeezed
    assert "医疗机构意见" in squeezed and "卫生健康行政部门审核意见" in squeezed  # signature boxes
    fonts = {str(f["/BaseFont"]) for page in reader.pages
             for f in page["/Resources"]["/Font"].values()}
    assert any("UMingCN" in name for name in fonts)  # the 宋体-style font is embedded
    images = [img for page in reader.pages for img in page.images]
    assert len(images) >= 2  # the photo and the QR code
    pixels = [img.image.convert("RGB").getpixel((10, 10)) for img in images
              if img.image is not None]
    assert (200, 30, 30) in pixels  # the physician's photo
    # the QR code's link: public, with type, status and date only
    url = re.search(r"http://localhost/public/applications/[\w.\-]+", squeezed)
    assert url is not None
    anonymous = app.test_client()
    check = anonymous.get(url.group(0).removeprefix("http://localhost"))
    page = check.get_data(as_text=True)
    assert check.status_code == 200 and "待机构确认" in page
    assert re.search(r"业务类型</dt><dd>[^<]*注册", page)
    with app.app_context():
        doctor = db.session.get(User, web_world.doctor_id)
        assert doctor is not None and doctor.id_number
        assert doctor.id_number not in page and doctor.display_name not in page
    forged = anonymous.get(f"/public/applications/{iid}")
    assert forged.status_code == 404 and "链接无效" in forged.get_data(as_text=True)
    # no one else prints it
    other = WebClient(app.test_client())
    other.login("jigou02")
    assert other.get(f"/inbox/applications/{iid}/review-table.pdf").status_code == 404


def test_the_institution_confirms_with_the_signed_scan_and_the_commission_sees_it(
        web: WebClient, web_world: World, app: Flask) -> None:
    # R-39 / DOMAIN §5: the institution signs and stamps the printed table and uploads the scan
    # (or ticks that it holds the paper) at its confirmation; the commission sees it
    iid = _submit(web, web_world, app)
    with app.app_context():
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open"))
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    page = staff.get(f"/inbox/tasks/{task_id}").get_data(as_text=True)
    assert "打印申请审核表" in page and 'name="paper_scan"' in page and 'name="paper_held"' in page
    printed = staff.client.get(f"/inbox/applications/{iid}/review-table.pdf")
    assert printed.status_code == 200 and printed.data.startswith(b"%PDF")
    scan = PDF + b"signed"
    resp = staff.post(f"/inbox/tasks/{task_id}/complete", {
        "decision": "confirm", "paper_scan": (io.BytesIO(scan), "申请审核表-已盖章.pdf")},
        content_type="multipart/form-data")
    assert resp.status_code == 302
    with app.app_context():
        commission_task = db.session.scalar(select(HumanTask.id).where(
            HumanTask.status == "open", HumanTask.lane == "commission"))
    officer = WebClient(app.test_client())
    officer.login("weijian01")
    page = officer.get(f"/inbox/tasks/{commission_task}").get_data(as_text=True)
    assert "医疗机构已上传签字盖章的申请审核表" in page and "申请审核表-已盖章.pdf" in page
    got = officer.client.get(f"/inbox/applications/{iid}/paper-scan")
    assert got.status_code == 200 and got.data == scan
    got.close()
    outsider = WebClient(app.test_client())
    outsider.login("jigou02")
    assert outsider.get(f"/inbox/applications/{iid}/paper-scan").status_code == 404


def test_a_confirmation_without_the_signed_paper_is_refused_next_to_the_field(
        web: WebClient, web_world: World, app: Flask) -> None:
    # 医师执业注册管理办法 第十二条 / R-39: the institution confirms only with the signed and
    # stamped table: scan uploaded or paper held; otherwise told next to the field, input kept
    _submit(web, web_world, app)
    with app.app_context():
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open"))
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    staff.get(f"/inbox/tasks/{task_id}")
    resp = staff.post(f"/inbox/tasks/{task_id}/complete", {"decision": "confirm", "note": "同意"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    block = page.split('id="field-paper_held"')[1].split('id="field-')[0]
    assert "请阅读并勾选此项" in block and "同意" in page
    resp = staff.post(f"/inbox/tasks/{task_id}/complete", {"decision": "confirm", "paper_held": "on"})
    assert resp.status_code == 302
    with app.app_context():
        commission_task = db.session.scalar(select(HumanTask.id).where(
            HumanTask.status == "open", HumanTask.lane == "commission"))
    officer = WebClient(app.test_client())
    officer.login("weijian01")
    page = officer.get(f"/inbox/tasks/{commission_task}").get_data(as_text=True)
    assert "医疗机构确认已收到签字盖章的纸质申请审核表" in page and "山西大学医院医务科" in page


def test_bulk_confirmation_needs_the_paper_tick(web: WebClient, web_world: World,
                                                app: Flask) -> None:
    # a bulk confirmation states that the institution holds every signed table
    iid = _submit(web, web_world, app)
    with app.app_context():
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open"))
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    inbox = staff.get("/inbox/").get_data(as_text=True)
    assert 'name="paper_held"' in inbox and "纸质申请审核表" in inbox
    refused = staff.post("/inbox/bulk-confirm", {"task_id": [str(task_id)]}, follow_redirects=True)
    assert "请勾选已收到签字盖章的纸质申请审核表" in refused.get_data(as_text=True)
    done = staff.post("/inbox/bulk-confirm", {"task_id": [str(task_id)], "paper_held": "on"},
                      follow_redirects=True)
    assert f"已确认 1 项：申请编号 {iid}" in done.get_data(as_text=True)


def _as_before_the_paper_step(app: Flask) -> None:
    """Publish 注册 as it was: the physician uploads the scan, a plain confirmation."""
    root = Path(__file__).resolve().parents[2]
    with app.app_context():
        row = definitions.published("registration")
        old = copy.deepcopy(dict(row.forms))
        apply = old["registration_apply"]
        apply.pop("x-review-table")
        apply["required"].append("application_form")
        apply["properties"]["application_form"] = {
            "type": "object", "title": "申请审核表（签字盖章后的扫描件）", "x-attachment": True}
        apply["x-ui"]["order"].insert(5, "application_form")
        apply["x-ui"]["widgets"]["application_form"] = {"widget": "file", "accept": ".pdf",
                                                        "max_kb": 5120}
        old.pop("institution_confirm_paper")
        old["institution_confirm"] = json.loads(
            (root / "forms" / "institution_confirm.json").read_text("utf-8"))
        xml = row.bpmn_xml.replace('value="institution_confirm_paper"',
                                   'value="institution_confirm"')
        defn, problems = definitions.check(xml, old, "registration")
        assert defn is not None, problems
        db.session.add(ProcessDefinition(
            process_id="registration", version=row.version + 1, name=row.name, bpmn_xml=xml,
            forms=old, spec_json=defn.spec_json, sha256=hashlib.sha256(xml.encode()).hexdigest(),
            published_at=utcnow(), author="test"))
        db.session.commit()


def test_applications_on_a_version_before_the_paper_step_keep_working(
        web: WebClient, web_world: World, app: Flask) -> None:
    # running instances stay on their version: the physician's scan is still asked for
    # and shown; the table prints under the general name; the institution confirms as before
    _as_before_the_paper_step(app)
    web.login("doctor01")
    page = web.get("/physician/apply/registration").get_data(as_text=True)
    assert 'name="application_form"' in page
    resp = web.post("/physician/apply/registration", {
        "institution_id": str(web_world.hospital_id), "department_id": str(web_world.department_id),
        "practice_scopes": ["11"], "contact_mobile": "15175070658",
        "declare_health": "on", "declare_no_bar": "on",
        "application_form": (io.BytesIO(PDF + b"old"), "申请审核表.pdf"),
        "employment_proof": (io.BytesIO(PDF), "聘用证明.pdf"),
        "photo": (io.BytesIO(photo_jpeg()), "照片.jpg")}, content_type="multipart/form-data")
    assert resp.status_code == 302
    with app.app_context():
        iid = db.session.scalar(select(ProcessInstance.id))
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open"))
    printed = web.client.get(f"/physician/applications/{iid}/review-table.pdf")
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(
        io.BytesIO(printed.data)).pages))
    assert "《医师执业、变更执业、多机构备案申请审核表》" in text
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    page = staff.get(f"/inbox/tasks/{task_id}").get_data(as_text=True)
    assert 'name="paper_held"' not in page
    assert staff.post(f"/inbox/tasks/{task_id}/complete",
                      {"decision": "confirm"}).status_code == 302
    with app.app_context():
        commission_task = db.session.scalar(select(HumanTask.id).where(
            HumanTask.status == "open", HumanTask.lane == "commission"))
    officer = WebClient(app.test_client())
    officer.login("weijian01")
    page = officer.get(f"/inbox/tasks/{commission_task}").get_data(as_text=True)
    assert "申请审核表.pdf" in page and "医疗机构未上传" not in page


def test_a_missing_font_is_a_clear_message_not_a_stack_trace(
        web: WebClient, web_world: World, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    # printing needs the 宋体-style font on the server; without it people are told so
    iid = _submit(web, web_world, app)
    monkeypatch.setitem(app.config, "MEDREG_CJK_FONT", "/nonexistent/uming.ttc")
    resp = web.get(f"/physician/applications/{iid}/review-table.pdf")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 503
    assert "打印服务暂不可用" in page and "fonts-arphic-uming" in page and "Traceback" not in page


def test_the_printed_table_reads_back_with_poppler(web: WebClient, web_world: World, app: Flask,
                                                    tmp_path: Path) -> None:
    # G-18: 指南 2.4 #13 纸质资料
    # 医师执业注册管理办法 第十二条 / R-39, 指南 2.4 #13 (纸质资料): what another PDF reader
    # (poppler's pdftotext) finds on the printed sheet: the applicant, the institution and the
    # address the QR code carries; pdftoppm draws it (the PNG is the sheet a person looks at)
    iid = _submit(web, web_world, app)
    resp = web.client.get(f"/physician/applications/{iid}/review-table.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    pdf = tmp_path / "审核表.pdf"
    pdf.write_bytes(resp.data)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    squeezed = re.sub(r"\s+", "", text)
    with app.app_context():
        doctor = db.session.get(User, web_world.doctor_id)
        assert doctor is not None
        name = doctor.display_name
    assert name and name in squeezed  # the applicant
    assert "山西大学医院" in squeezed  # the institution chosen
    payload = re.search(r"http://localhost/public/applications/[\w.\-]+", squeezed)
    assert payload is not None  # the QR code's address, printed under it
    check = app.test_client().get(payload.group(0).removeprefix("http://localhost"))
    assert check.status_code == 200 and "待机构确认" in check.get_data(as_text=True)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", str(pdf),
                    str(tmp_path / "sheet")], check=True)
    sheet = Image.open(tmp_path / "sheet.png").convert("L")
    assert sheet.width < sheet.height  # an upright A4 sheet
    dark = sheet.point(lambda px: 255 if px < 128 else 0).histogram()[255]
    assert dark > sheet.width * sheet.height // 100  # printed, not blank
