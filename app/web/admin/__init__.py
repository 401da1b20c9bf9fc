"""The administrator's pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__)

from app.web.admin import imports  # noqa: E402,F401
from app.web.admin import instances  # noqa: E402,F401
from app.web.admin import processes  # noqa: E402,F401
from app.web.admin import routes  # noqa: E402,F401
