from __future__ import annotations

from flask import abort
from flask import current_app
from flask import render_template
from flask.typing import ResponseReturnValue

from app.services.platform import outbox
from app.web.dev import bp


@bp.route("/outbox")
def outbox_page() -> ResponseReturnValue:
    if (current_app.config.get("MEDREG_MAIL_BACKEND") != "log"
            or current_app.config.get("MEDREG_ENV") == "production"):
        abort(404)
    return render_template("dev/outbox.html", messages=outbox.recent())
