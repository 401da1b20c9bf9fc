"""Physician accounts: 个人用户注册, 医师账户激活, 安全设置, 找回您的登录账户."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("account", __name__)

from app.web.account import routes  # noqa: E402,F401
