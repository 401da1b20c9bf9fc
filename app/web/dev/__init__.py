"""Development pages: the outbox, only when messages go to the log backend."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dev", __name__)

from app.web.dev import routes  # noqa: E402,F401
