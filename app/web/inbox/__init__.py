"""The task inbox of institution staff and commission officers."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("inbox", __name__)

from app.web.inbox import routes  # noqa: E402,F401
