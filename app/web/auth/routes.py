from __future__ import annotations

from urllib.parse import urlsplit

from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user

from app.errors import DomainError
from app.extensions import limiter
from app.services import accounts
from app.web.auth import bp
from app.web.common import captcha_ok
from app.web.common import home_of


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(home_of(current_user))
    error = captcha_error = None
    username = request.form.get("username", "")
    if request.method == "POST" and not captcha_ok():
        captcha_error = _("验证码不正确，请重新输入")
    elif request.method == "POST":
        try:
            user = accounts.authenticate(username, request.form.get("password", ""))
        except DomainError as exc:
            error = exc.message
        else:
            session.clear()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or home_of(user))
    return render_template("auth/login.html", error=error, username=username,
                           captcha_error=captcha_error), (401 if error or captcha_error else 200)


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))
