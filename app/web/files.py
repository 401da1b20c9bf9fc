"""Serving an application's attachments to those who may see it."""

from __future__ import annotations

from flask import abort
from flask import send_file
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.services.applications import attachments
from app.services.inbox import tasks
from app.web.common import upload_dir


def send_attachment(instance_id: int, field: str) -> ResponseReturnValue:
    ref = tasks.attachment_of(current_user, instance_id, field)
    try:
        path = attachments.path_of(upload_dir(), ref.sha256)
    except ValueError:
        abort(404)
    if not path.exists():
        abort(404)
    return send_file(path, mimetype=ref.mime, download_name=ref.name, as_attachment=True)
