"""Serving an application's attachments to those who may see it."""

from __future__ import annotations

import io

from flask import abort
from flask import current_app
from flask import send_file
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.services.applications import attachments
from app.services.inbox import paper
from app.services.inbox import review_table
from app.services.inbox import tasks
from app.web.common import upload_dir


def _send_stored(ref: tasks.FileRef) -> ResponseReturnValue:
    """A stored upload as a download (404 when the store no longer has it)."""
    try:
        path = attachments.path_of(upload_dir(), ref.sha256)
    except ValueError:
        abort(404)
    if not path.exists():
        abort(404)
    return send_file(path, mimetype=ref.mime, download_name=ref.name, as_attachment=True)


def send_attachment(instance_id: int, field: str) -> ResponseReturnValue:
    return _send_stored(tasks.attachment_of(current_user, instance_id, field))


def send_scan(instance_id: int) -> ResponseReturnValue:
    """The signed and stamped 申请审核表 the institution uploaded at its confirmation."""
    return _send_stored(paper.scan_of(current_user, instance_id))


def send_review_table(instance_id: int) -> ResponseReturnValue:
    """The 申请审核表 of the application as a PDF to print."""
    cfg = current_app.config
    table = review_table.review_table(
        current_user, instance_id,
        lambda token: url_for("public.application_check", token=token, _external=True),
        str(cfg["SECRET_KEY"]), upload_dir(), str(cfg["MEDREG_CJK_FONT"]),
        int(cfg["MEDREG_CJK_FONT_INDEX"]))
    return send_file(io.BytesIO(table.pdf), mimetype="application/pdf",
                     download_name=table.filename, as_attachment=False)
