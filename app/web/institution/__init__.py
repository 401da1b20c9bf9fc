"""The institution console (医疗机构版): activation codes."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("institution", __name__)

from app.web.institution import routes  # noqa: E402,F401
