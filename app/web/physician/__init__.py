"""The physician's pages (医师个人版)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("physician", __name__)

from app.web.physician import routes  # noqa: E402,F401
