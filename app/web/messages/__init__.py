"""消息: every signed-in person's in-app messages (站内消息)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("messages", __name__)

from app.web.messages import routes  # noqa: E402,F401
