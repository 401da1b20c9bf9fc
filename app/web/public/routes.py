from __future__ import annotations

from flask import current_app
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from app.extensions import limiter
from app.services.errors import InvalidInput
from app.services.inbox import paper
from app.services.records import notices as notice_lists
from app.services.records import public_register
from app.web.common import activated_physician
from app.web.common import captcha_ok
from app.web.common import int_arg
from app.web.common import reads_only
from app.web.public import bp


def _secret() -> str:
    return str(current_app.config["SECRET_KEY"])


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def search() -> ResponseReturnValue:
    results = None
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        if not captcha_ok():
            errors["captcha"] = _("验证码不正确，请重新输入")
        else:
            try:
                results = public_register.search(form.get("name", ""), form.get("province", ""),
                                                 form.get("institution", ""),
                                                 form.get("cert_no", ""))
            except InvalidInput as exc:
                errors = exc.errors
    return render_template("public/search.html", results=results, errors=errors, form=form,
                           provinces=public_register.provinces()), (422 if errors else 200)


@bp.route("/certificates/<int:registration_id>")
@activated_physician
def certificate(registration_id: int) -> ResponseReturnValue:
    entry, token = public_register.certificate(current_user, registration_id, _secret())
    url = url_for("public.verify", token=token, _external=True)
    return render_template("public/certificate.html", entry=entry, url=url,
                           qr=Markup(public_register.qr_svg(url)))  # noqa: S704 - our own SVG


@bp.route("/verify/<token>")
@reads_only
@limiter.limit("60 per minute")
def verify(token: str) -> ResponseReturnValue:
    entry = public_register.verify(token, _secret())
    return render_template("public/verify.html", entry=entry), (200 if entry else 404)


@bp.route("/applications/<token>")
@reads_only
@limiter.limit("60 per minute")
def application_check(token: str) -> ResponseReturnValue:
    """The QR code printed on a 申请审核表: type, status and date of that application only."""
    found = paper.verify(token, _secret())
    return render_template("public/application_check.html", found=found), (200 if found else 404)


@bp.route("/notices")
@reads_only
@limiter.limit("60 per minute")
def notices() -> ResponseReturnValue:
    """准予注册 / 注销 notices per province (医师法 第二十一条), no sign-in."""
    kind, province = request.args.get("kind", "registered"), request.args.get("province", "")
    try:
        listing = notice_lists.notices(kind, province, int_arg(request.args.get("page")) or 1)
    except InvalidInput as exc:
        return render_template("public/notices.html", listing=None, errors=exc.errors,
                               kind=kind, province=province, kinds=notice_lists.KINDS,
                               provinces=notice_lists.provinces()), 422
    return render_template("public/notices.html", listing=listing, errors={}, kind=kind,
                           province=province, kinds=notice_lists.KINDS,
                           provinces=notice_lists.provinces())
