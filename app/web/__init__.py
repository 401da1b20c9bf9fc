"""Blueprints, one package per audience."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask import redirect
from flask import render_template
from flask import request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.config import is_development
from app.extensions import login_manager
from app.services.accounts import accounts
from app.services.engine.clock import CST
from app.web.folding import FoldLiteralGettext
from app.web.folding import has_catalogue


def register_blueprints(app: Flask) -> None:
    from app.web.account import bp as account_bp
    from app.web.admin import bp as admin_bp
    from app.web.auth import bp as auth_bp
    from app.web.dev import bp as dev_bp
    from app.web.guide import bp as guide_bp
    from app.web.health import bp as health_bp
    from app.web.inbox import bp as inbox_bp
    from app.web.institution import bp as institution_bp
    from app.web.messages import bp as messages_bp
    from app.web.physician import bp as physician_bp
    from app.web.public import bp as public_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(physician_bp, url_prefix="/physician")
    app.register_blueprint(inbox_bp, url_prefix="/inbox")
    app.register_blueprint(account_bp, url_prefix="/account")
    app.register_blueprint(institution_bp, url_prefix="/institution")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(messages_bp, url_prefix="/messages")
    if is_development(app.config) and app.config["MEDREG_MAIL_BACKEND"] == "log":
        app.register_blueprint(dev_bp, url_prefix="/dev")
    app.register_blueprint(public_bp, url_prefix="/public")
    app.register_blueprint(guide_bp, url_prefix="/guide")
    app.register_blueprint(health_bp)

    production = not is_development(app.config)
    if production:
        app.config["SESSION_COOKIE_SECURE"] = True  # DESIGN §5: Secure in production

    from app.web.sessions import ServerSessionInterface

    app.session_interface = ServerSessionInterface()
    login_manager.login_view = "auth.login"
    # Flask-Login's "basic" protection only marks a session not fresh when the address or the
    # browser changes (a hash of both on every request, and a write of the row after it);
    # nothing here asks for a fresh sign-in: a security change asks for the password again
    # (app.web.sessions.REAUTH_SECONDS), and a stolen cookie is ended by 退出 or any such change
    app.config.setdefault("SESSION_PROTECTION", None)
    login_manager.login_message = "请先登录"
    login_manager.user_loader(accounts.load_user)

    @app.route("/")
    def index() -> ResponseReturnValue:
        from app.web.common import home_of

        if current_user.is_authenticated:
            return redirect(home_of(current_user))
        return render_template("guide/portal.html")

    @app.after_request
    def security_headers(resp: Any) -> Any:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; frame-ancestors 'none'")
        if production:
            resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return resp

    _template_gettext(app)

    @app.context_processor
    def layout() -> dict[str, Any]:
        from app.config import captcha_required
        from app.services.applications.eligibility import type_name
        from app.services.platform import messages
        from app.services.platform.idempotency import new_token
        from app.web.common import back_url
        from app.web.common import menu_for
        from app.web.common import menu_on
        from app.web.common import sign_kept
        from app.web.csrf_kept import csrf_token

        user = current_user._get_current_object()  # once, not per use
        signed_in = user.is_authenticated
        menu = menu_for(user) if signed_in else []
        # ``me``: the person for the templates, without the proxy's look-up per use
        return {"me": user, "menu": menu, "menu_on": menu_on(menu, request.path),
                "unread_messages": messages.unread_count(user.id) if signed_in else 0,
                "type_name": type_name, "sign_kept": sign_kept, "submit_token": new_token,
                "captcha_on": captcha_required(), "back_url": back_url,
                "csrf_token": csrf_token}  # over Flask-WTF's own: signed once a minute

    @app.template_filter("cst")
    def cst(value: datetime | None) -> str:
        # "2026-11-30 08:05": isoformat's first 16 characters (strftime took half again as long,
        # twice per row of 待办任务)
        return value.astimezone(CST).isoformat(" ", "minutes")[:16] if value else ""

    @app.template_filter("mask_recipient")
    def mask_recipient(value: str) -> str:
        from app.services.records.validators import is_mobile
        from app.services.records.validators import mask_mobile

        return mask_mobile(value) if is_mobile(value) else value

    @app.template_filter("cn_date")
    def cn_date(value: date | None) -> str:
        return f"{value.year}年{value.month:02d}月{value.day:02d}日" if value else ""


def _template_gettext(app: Flask) -> None:
    """The templates' ``_()`` with the catalogue looked up once per process, not per string.

    Every request has the one locale zh_CN (``create_app``'s locale selector), so what
    Flask-Babel looks up on each call (the context, the locale, the domain, its catalogue
    cache) gives the same catalogue every time; a page calls ``_()`` about a hundred times."""
    from flask import has_request_context
    from flask_babel import get_translations

    held: list[Any] = []

    def catalogue() -> Any:
        if held:
            return held[0]
        found = get_translations()
        if has_request_context():  # outside a request Flask-Babel answers with no catalogue
            held.append(found)
        return found

    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]  # jinja2.ext.i18n adds it
        gettext=lambda s: catalogue().ugettext(s),
        ngettext=lambda s, p, n: catalogue().ungettext(s, p, n),
        pgettext=lambda c, s: catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: catalogue().unpgettext(c, s, p, n),
        newstyle=True)
    if not has_catalogue(Path(app.root_path)):
        app.jinja_env.add_extension(FoldLiteralGettext)
