"""The public register (医师执业注册信息查询) and certificate verification."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("public", __name__)

from app.web.public import routes  # noqa: E402,F401
