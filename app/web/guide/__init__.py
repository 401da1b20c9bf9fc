"""The guide's pages for everyone: the portal, 业务说明, 使用手册 / 培训教程, 注册说明."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("guide", __name__)

from app.web.guide import routes  # noqa: E402,F401
