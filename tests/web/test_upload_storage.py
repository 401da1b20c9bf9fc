"""What uploads leave on disk: a refused submission stores nothing (issue 10 #14), a person's
files are limited per day, and a file of a refused attempt can still be re-submitted."""

from __future__ import annotations

import io
import os
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Attachment
from app.models import HumanTask
from app.models.base import utcnow
from app.services.applications import uploads
from app.services.platform import audit
from tests.conftest import WebClient
from tests.factories import World
from tests.services.test_maintenance import photo_bytes

APPLY = "/physician/apply/registration"
SIZE = 200_000  # two of these stay under the test client's 500 KB in-memory body


@pytest.fixture(autouse=True)
def _empty_temp_areas(app: Flask) -> None:
    """Temp areas left by earlier tests (the upload folder is shared by the session) go."""
    import shutil

    shutil.rmtree(Path(app.config["MEDREG_UPLOAD_DIR"]) / uploads.STAGING, ignore_errors=True)


@pytest.fixture()
def web_world(web_world: World, app: Flask) -> World:
    """The doctors have an approved profile photo: the 2-inch photo (办法 第十二条, required,
    tested in test_registration_pages) need not be posted, so each post carries two files."""
    from app.models import PhysicianProfile
    from app.models import User

    with app.app_context():
        for doctor in db.session.scalars(select(User).where(User.qualification_id.is_not(None))):
            db.session.add(PhysicianProfile(qualification_id=doctor.qualification_id,
                                            photo_sha256="a" * 64))
        db.session.commit()
    return web_world


def _pdf(size: int = SIZE) -> bytes:
    """A distinct PDF of about ``size`` bytes."""
    return b"%PDF-1.4\n" + os.urandom(size)


def _jpg(size: int = SIZE) -> bytes:
    """A distinct file that is a JPEG by its content (the optional 二寸照片 of the form)."""
    return b"\xff\xd8\xff\xe0" + os.urandom(size)


def _form(world: World, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "institution_id": str(world.hospital_id), "department_id": str(world.department_id),
        "practice_scopes": ["11"], "contact_mobile": "15175070658",
        "declare_health": "on", "declare_no_bar": "on",
        "photo": (io.BytesIO(_jpg()), "照片.jpg"),
        "employment_proof": (io.BytesIO(_pdf()), "聘用证明.pdf"),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _post(web: WebClient, data: dict[str, Any]) -> Any:
    return web.post(APPLY, data, content_type="multipart/form-data")


def _files(upload_dir: str) -> dict[str, int]:
    """Every file under the upload folder (store and temp areas): path -> size."""
    root = Path(upload_dir)
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def _store(upload_dir: str) -> dict[str, int]:
    return {k: v for k, v in _files(upload_dir).items() if not k.startswith(uploads.STAGING)}


def _temp(upload_dir: str) -> dict[str, int]:
    return {k: v for k, v in _files(upload_dir).items() if k.startswith(uploads.STAGING)}


def _kept_tokens(page: str) -> dict[str, str]:
    return dict(re.findall(r'name="(\w+__keep)" value="([^"]+)"', page))


def _download(web: WebClient, url: str) -> bytes:
    with web.client.get(url) as resp:
        assert resp.status_code == 200, url
        return bytes(resp.data)


def _error_of(page: str, field: str) -> str:
    block = page.split(f'id="field-{field}"')[1].split('id="field-')[0]
    found = re.search(r'role="alert">([^<]+)<', block)
    return found.group(1) if found else ""


def test_refused_posts_leave_the_store_as_it_was(web: WebClient, web_world: World) -> None:
    web.login("doctor01")
    web.get(APPLY)
    before = _store(web_world.upload_dir)
    for _ in range(6):  # each post carries two new files
        files = {"photo": (io.BytesIO(_jpg()), "照片.jpg"),
                 "employment_proof": (io.BytesIO(_pdf()), "聘用证明.pdf")}
        resp = _post(web, _form(web_world, contact_mobile="12345", **files))
        page = resp.get_data(as_text=True)
        assert resp.status_code == 422
        assert _error_of(page, "contact_mobile") == "请输入11位有效的手机号码"
        assert "已上传：照片.jpg" in page and "已上传：聘用证明.pdf" in page
    assert _store(web_world.upload_dir) == before
    temp = _temp(web_world.upload_dir)  # only the last attempt waits for a re-submission
    assert len(temp) == 2 and sum(temp.values()) < 2 * SIZE + 100


def test_a_file_of_a_refused_post_is_stored_when_it_is_resubmitted(
        app: Flask, web: WebClient, web_world: World) -> None:
    web.login("doctor01")
    web.get(APPLY)
    form_pdf, proof_pdf = _jpg(), _pdf()
    resp = _post(web, _form(web_world, contact_mobile="12345",
                            photo=(io.BytesIO(form_pdf), "照片.jpg"),
                            employment_proof=(io.BytesIO(proof_pdf), "聘用证明.pdf")))
    assert resp.status_code == 422
    tokens = _kept_tokens(resp.get_data(as_text=True))
    assert set(tokens) == {"photo__keep", "employment_proof__keep"}
    resp = _post(web, _form(web_world, photo=None, employment_proof=None, **tokens))
    assert resp.status_code == 302  # accepted without choosing the files again
    assert _temp(web_world.upload_dir) == {}
    with app.app_context():
        task = db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open"))
        iid = db.session.scalar(select(HumanTask.instance_id).where(HumanTask.id == task))
        db.session.remove()
    staff = WebClient(app.test_client())
    staff.login("jigou01")
    assert _download(staff, f"/inbox/applications/{iid}/files/photo") == form_pdf
    assert _download(staff, f"/inbox/applications/{iid}/files/employment_proof") == proof_pdf


def test_an_accepted_post_stores_its_files(app: Flask, web: WebClient, web_world: World) -> None:
    web.login("doctor01")
    web.get(APPLY)
    form_pdf = _jpg()
    resp = _post(web, _form(web_world, photo=(io.BytesIO(form_pdf), "照片.jpg")))
    assert resp.status_code == 302
    detail = web.get(resp.headers["Location"]).get_data(as_text=True)
    assert "待机构确认" in detail
    link = re.search(r'href="([^"]+/files/photo)"', detail)
    assert link is not None and _download(web, link.group(1)) == form_pdf
    assert _temp(web_world.upload_dir) == {}


def test_an_eligibility_refusal_stores_nothing(web: WebClient, web_world: World) -> None:
    web.login("doctor01")
    web.get(APPLY)
    assert _post(web, _form(web_world)).status_code == 302
    before = _files(web_world.upload_dir)
    resp = _post(web, _form(web_world))  # a second 注册 while the first is open
    assert resp.status_code == 400
    assert "您已有正在办理的同类申请" in resp.get_data(as_text=True)
    assert _files(web_world.upload_dir) == before


def test_a_step_that_fails_stores_nothing(app: Flask, web: WebClient, web_world: World,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    web.login("doctor01")
    web.get(APPLY)
    before = _files(web_world.upload_dir)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # as in production
    real = audit.record

    def failing_record(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("INSERT INTO audit_event", {}, Exception("disk I/O error"))

    monkeypatch.setattr(audit, "record", failing_record)
    resp = _post(web, _form(web_world))
    assert resp.status_code == 500 and "您填写的内容未被保存" in resp.get_data(as_text=True)
    assert _files(web_world.upload_dir) == before
    monkeypatch.setattr(audit, "record", real)


def test_a_commit_that_fails_takes_the_files_out_of_the_store_again(
        app: Flask, web: WebClient, web_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    web.login("doctor01")
    web.get(APPLY)
    before = _files(web_world.upload_dir)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    seen: list[int] = []

    def refuse_commit(session: Session) -> None:
        seen.append(len(_store(web_world.upload_dir)))  # the files are in the store by now
        raise OperationalError("COMMIT", {}, Exception("database is locked"))

    event.listen(Session, "before_commit", refuse_commit)
    try:
        resp = _post(web, _form(web_world))
    finally:
        event.remove(Session, "before_commit", refuse_commit)
    assert resp.status_code == 500 and "您填写的内容未被保存" in resp.get_data(as_text=True)
    assert seen and seen[0] == len(before) + 2
    assert _files(web_world.upload_dir) == before


def _earlier_uploads(app: Flask, user_id: int, size: int, ago: timedelta) -> None:
    with app.app_context():
        db.session.add(Attachment(sha256="0" * 64, filename="早先的文件.pdf", mime="application/pdf",
                                  size=size, uploaded_by_id=user_id, created_at=utcnow() - ago))
        db.session.commit()
        db.session.remove()


def test_the_daily_upload_limit_refuses_with_a_message_next_to_the_file(
        app: Flask, web: WebClient, web_world: World) -> None:
    _earlier_uploads(app, web_world.doctor_id, uploads.DAILY_LIMIT_BYTES, timedelta(days=2))
    _earlier_uploads(app, web_world.doctor_id, uploads.DAILY_LIMIT_BYTES - 3 * SIZE // 2,
                     timedelta(seconds=5))  # today: room for one more file, not two
    web.login("doctor01")
    web.get(APPLY)
    before = _store(web_world.upload_dir)
    resp = _post(web, _form(web_world))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert _error_of(page, "employment_proof") == ""  # the first file in the form's order
    assert "已上传：聘用证明.pdf" in page
    assert _error_of(page, "photo") == (
        "您今天上传的文件已达到每日 100 MB 的上限，此文件未能保存，请明天再上传")
    assert _store(web_world.upload_dir) == before
    other = WebClient(app.test_client())  # the limit is per person
    other.login("doctor02")
    other.get(APPLY)
    assert _post(other, _form(web_world)).status_code == 302


def test_a_refused_photo_stores_nothing(web: WebClient, web_world: World) -> None:
    web.login("doctor01")  # no 有效 registration: the photo cannot be reviewed
    before = _files(web_world.upload_dir)
    resp = web.post("/physician/profile", {"action": "photo",
                                           "photo": (io.BytesIO(photo_bytes()), "相片.jpg")},
                    content_type="multipart/form-data")
    assert "您当前没有有效的执业注册" in resp.get_data(as_text=True)
    assert _files(web_world.upload_dir) == before


def test_temp_files_older_than_an_hour_are_swept(app: Flask, web: WebClient, web_world: World,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    web.login("doctor01")
    web.get(APPLY)
    assert _post(web, _form(web_world, contact_mobile="12345")).status_code == 422
    old = _temp(web_world.upload_dir)
    assert len(old) == 2
    past = time.time() - uploads.KEEP_SECONDS - 60
    for name in old:
        os.utime(Path(web_world.upload_dir) / name, (past, past))
    monkeypatch.setattr(uploads, "_last_sweep", [])  # no sweep in the last minute
    other = WebClient(app.test_client())
    other.login("doctor02")
    other.get(APPLY)
    assert _post(other, _form(web_world, contact_mobile="12345")).status_code == 422
    left = _temp(web_world.upload_dir)  # doctor02's submission swept doctor01's old files
    assert len(left) == 2 and not set(left) & set(old)
    assert uploads.sweep(web_world.upload_dir) == 0  # doctor02's fresh attempt stays
    assert _temp(web_world.upload_dir) == left
