from __future__ import annotations

from flask import flash
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

from app.extensions import limiter
from app.models import User
from app.services.accounts import accounts
from app.services.errors import DomainError
from app.services.errors import InvalidInput
from app.web.auth import bp
from app.web.common import captcha_ok
from app.web.common import home_of
from app.web.common import safe_next
from app.web.sessions import mark_authenticated


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
            return _start(user)
    return render_template("auth/login.html", error=error, username=username,
                           captcha_error=captcha_error, edition=_edition()), (
        401 if error or captcha_error else 200)


def _edition() -> str | None:
    """The entry chosen on the portal: 医师个人版 (physician) or 医疗机构版 (institution); the
    same sign-in either way, only the title and the links differ."""
    edition = request.args.get("edition")
    return edition if edition in ("physician", "institution") else None


def _start(user: User) -> ResponseReturnValue:
    """A new session for the signed-in user (the token before sign-in is finished)."""
    session.clear()
    login_user(user)
    mark_authenticated()
    return redirect(safe_next(request.args.get("next")) or home_of(user))


@bp.route("/login/sms", methods=["GET", "POST"])
@limiter.limit("5 per minute", methods=["POST"])
def login_sms() -> ResponseReturnValue:
    """手机校验码登录: always open to the owner of a verified phone."""
    if current_user.is_authenticated:
        return redirect(home_of(current_user))
    form = request.form
    target = form.get("target", "")
    errors: dict[str, str] = {}
    sent = request.method == "POST" and form.get("action") != "send"
    if request.method == "POST":
        if not captcha_ok():
            errors["captcha"] = _("验证码不正确，请重新输入")
        else:
            try:
                if form.get("action") == "send":
                    flash(accounts.send_login_code(target), "success")
                    sent = True
                else:
                    return _start(accounts.sign_in_with_code(target, form.get("code", "")))
            except InvalidInput as exc:
                errors = exc.errors
            except DomainError as exc:
                errors, sent = {"code": exc.message}, True
    return render_template("auth/login_sms.html", target=target, errors=errors, sent=sent), (
        422 if errors else 200)


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))
