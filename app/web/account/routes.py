from __future__ import annotations

from typing import Any

from flask import abort
from flask import flash
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_required
from flask_login import login_user

from app.extensions import limiter
from app.models import Role
from app.services.accounts import accounts
from app.services.accounts import captcha
from app.services.accounts import recovery
from app.services.accounts import security
from app.services.accounts import signup
from app.services.errors import DomainError
from app.services.errors import InvalidInput
from app.services.records.validators import mask_mobile
from app.web.account import bp
from app.web.common import CAPTCHA_KEY
from app.web.common import captcha_ok
from app.web.common import recent_password
from app.web.common import safe_next
from app.web.sessions import current_sid
from app.web.sessions import mark_authenticated
from app.web.sessions import renew

GUIDES = {
    "old": "老人老办法医师资格信息修改及补录指南",
    "new": "新人新办法医师资格信息修改及补录指南",
    "military": "军队离休及复转退人员医师资格信息补录指南",
}
CAPTCHA_WRONG = "验证码不正确，请重新输入"
post_limit = limiter.limit("20 per minute", methods=["POST"])
send_limit = limiter.limit("5 per minute", methods=["POST"])


@bp.route("/captcha.png")
@limiter.limit("30 per minute")
def captcha_image() -> ResponseReturnValue:
    """换一张: a new image whose answer replaces the session's previous one."""
    sealed, png = captcha.issue()
    session[CAPTCHA_KEY] = sealed
    resp = make_response(png)
    resp.headers["Content-Type"] = "image/png"
    resp.headers["Cache-Control"] = "no-store"
    return resp


def physician_account() -> Any:
    if not current_user.is_authenticated:
        abort(401)
    if current_user.role is not Role.PHYSICIAN:
        abort(403)
    return current_user


# ---- 个人用户注册 -------------------------------------------------------------

@bp.route("/register", methods=["GET", "POST"])
@post_limit
def register() -> ResponseReturnValue:
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {"name": request.form.get("name", ""), "id_number": request.form.get("id_number", "")}
        if not captcha_ok():
            errors["captcha"] = _(CAPTCHA_WRONG)
        else:
            try:
                identity = signup.check_identity(values["name"], values["id_number"])
            except InvalidInput as exc:
                errors, values = exc.errors, exc.values
            else:
                session["signup"] = {"name": identity.name, "id_number": identity.id_number}
                return redirect(url_for("account.register_account"))
    return render_template("account/register.html", values=values, errors=errors), (
        422 if errors else 200)


@bp.route("/register/account", methods=["GET", "POST"])
@post_limit
def register_account() -> ResponseReturnValue:
    pending = session.get("signup")
    if not pending:
        return redirect(url_for("account.register"))
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        try:
            user = signup.create_account(signup.Identity(pending["name"], pending["id_number"]),
                                         form.get("mobile", ""), form.get("email", ""),
                                         form.get("username", ""), form.get("password", ""),
                                         form.get("confirm", ""))
        except InvalidInput as exc:
            errors, values = exc.errors, exc.values
        else:
            session.clear()
            login_user(user)
            mark_authenticated()
            return redirect(url_for("account.activate"))
    return render_template("account/register_account.html", pending=pending, values=values,
                           errors=errors), (422 if errors else 200)


# ---- 医师账户激活 -------------------------------------------------------------

@bp.route("/activate", methods=["GET", "POST"])
@login_required
@post_limit
def activate() -> ResponseReturnValue:
    user = physician_account()
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        try:
            if request.form.get("path") == "A":
                signup.activate_with_code(user, request.form.get("code", ""))
            else:
                signup.activate_with_qualification(user, request.form.get("cert_no", ""))
        except InvalidInput as exc:
            errors, values = exc.errors, exc.values
        except DomainError as exc:
            flash(exc.message, "warning")
        else:
            flash(_("恭喜，您的账户已激活！"), "success")
            return redirect(url_for("physician.home"))
    st = signup.status(user)
    if st.activated:
        return redirect(url_for("physician.home"))
    return render_template("account/activate.html", st=st, errors=errors, values=values), (
        422 if errors else 200)


@bp.route("/activate/identity", methods=["GET", "POST"])
@login_required
@post_limit
def identity() -> ResponseReturnValue:
    user = physician_account()
    values = {"name": user.display_name, "id_number": user.id_number or ""}
    errors: dict[str, str] = {}
    if request.method == "POST" and not captcha_ok():
        errors["captcha"] = _(CAPTCHA_WRONG)
        values = {"name": request.form.get("name", ""), "id_number": request.form.get("id_number", "")}
    elif request.method == "POST":
        try:
            signup.update_identity(user, request.form.get("name", ""), request.form.get("id_number", ""))
        except InvalidInput as exc:
            errors, values = exc.errors, exc.values
        except DomainError as exc:
            errors = {"form": exc.message}
        else:
            flash(_("身份信息已更新，系统已重新校验。"), "success")
            return redirect(url_for("account.activate"))
    return render_template("account/identity.html", values=values, errors=errors), (
        422 if errors else 200)


@bp.route("/guides")
def guides() -> ResponseReturnValue:
    """资格补【改】指南: the three guides for a qualification the records do not (correctly) hold."""
    return render_template("account/guides.html", guides=GUIDES)


@bp.route("/guide/<name>")
def guide(name: str) -> ResponseReturnValue:
    if name not in GUIDES:
        abort(404)
    return render_template(f"account/guide_{name}.html", title=GUIDES[name])


# ---- 安全设置 ----------------------------------------------------------------

@bp.route("/security", endpoint="security")
@login_required
def security_home() -> ResponseReturnValue:
    user = physician_account()
    return render_template("account/security.html", user=user, masked=mask_mobile(user.mobile))



@bp.route("/security/reauth", methods=["GET", "POST"])
@login_required
@post_limit
def reauth() -> ResponseReturnValue:
    """确认密码: asked before a phone, e-mail or password change (every 5 minutes)."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            accounts.confirm_password(current_user, request.form.get("password", ""))
        except InvalidInput as exc:
            errors = exc.errors
        else:
            mark_authenticated()
            return redirect(safe_next(request.args.get("next")) or url_for("account.security"))
    return render_template("account/reauth.html", errors=errors), (422 if errors else 200)


@bp.route("/security/<channel>", methods=["GET", "POST"])
@recent_password
@send_limit
def contact(channel: str) -> ResponseReturnValue:
    if channel not in ("mobile", "email"):
        abort(404)
    user = physician_account()
    kind = "sms" if channel == "mobile" else "email"
    current = user.mobile if channel == "mobile" else user.email
    verified = user.mobile_verified if channel == "mobile" else user.email_verified
    target = request.form.get("target", "") if request.method == "POST" else (
        "" if verified else current or "")
    errors: dict[str, str] = {}
    sent = False
    if request.method == "POST":
        try:
            if request.form.get("action") == "send":
                security.send_code(user, kind, target)
                sent = True
                flash(_("校验码已发送，请查收（5分钟内有效）。"), "success")
            else:
                code_sent = security.confirm(user, kind, target, request.form.get("code", ""),
                                             current_sid())
                renew()
                flash(_("验证成功！"), "success")
                if code_sent:
                    flash(_("激活码已以短信方式发送至您的手机，请查收后在下方输入。"), "success")
                return redirect(url_for("account.activate" if not user.activated else "account.security"))
        except InvalidInput as exc:
            errors = exc.errors
        except DomainError as exc:
            errors = {"code": exc.message}
            sent = True
    masked = mask_mobile(current) if channel == "mobile" else (current or "")
    return render_template("account/contact.html", channel=channel, target=target, errors=errors,
                           sent=sent, verified=verified, masked=masked), (422 if errors else 200)


@bp.route("/security/password", methods=["GET", "POST"])
@login_required
@post_limit
def password() -> ResponseReturnValue:
    user = physician_account()
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        try:
            security.change_password(user, form.get("old", ""), form.get("password", ""),
                                     form.get("confirm", ""), current_sid())
            renew()
        except InvalidInput as exc:
            errors = exc.errors
        else:
            flash(_("密码已修改。"), "success")
            return redirect(url_for("account.security"))
    return render_template("account/password.html", errors=errors), (422 if errors else 200)


# ---- 找回您的登录账户 ----------------------------------------------------------

@bp.route("/recover")
def recover() -> ResponseReturnValue:
    return render_template("account/recover.html")


@bp.route("/recover/<channel>", methods=["GET", "POST"])
@send_limit
def recover_by_contact(channel: str) -> ResponseReturnValue:
    if channel not in ("mobile", "email"):
        abort(404)
    kind = "sms" if channel == "mobile" else "email"
    form = request.form
    target = form.get("target", "")
    errors: dict[str, str] = {}
    sent = False
    if request.method == "POST":
        if not captcha_ok():
            errors["captcha"] = _(CAPTCHA_WRONG)
            sent = form.get("action") != "send"
        else:
            try:
                if form.get("action") == "send":
                    flash(recovery.send_code(kind, target), "success")
                    sent = True
                else:
                    username = recovery.reset_with_code(kind, target, form.get("code", ""),
                                                        form.get("password", ""), form.get("confirm", ""))
                    return render_template("account/recovered.html", username=username)
            except InvalidInput as exc:
                errors = {("target" if k in ("mobile", "email") else k): v for k, v in exc.errors.items()}
                sent = form.get("action") != "send"
            except DomainError as exc:
                errors, sent = {"code": exc.message}, True
    return render_template("account/recover_contact.html", channel=channel, target=target,
                           errors=errors, sent=sent), (422 if errors else 200)


@bp.route("/recover/identity", methods=["GET", "POST"])
@post_limit
def recover_by_identity() -> ResponseReturnValue:
    form = request.form
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not captcha_ok():
            errors["captcha"] = _(CAPTCHA_WRONG)
        else:
            try:
                username = recovery.reset_with_identity(
                    form.get("name", ""), form.get("id_number", ""), form.get("mobile", ""),
                    form.get("cert_no", ""), form.get("password", ""), form.get("confirm", ""))
            except InvalidInput as exc:
                errors = exc.errors
            except DomainError as exc:
                errors = {"form": exc.message}
            else:
                return render_template("account/recovered.html", username=username)
    return render_template("account/recover_identity.html", form=form, errors=errors), (
        422 if errors else 200)


