from __future__ import annotations

from flask import Response
from flask import current_app
from flask import render_template
from flask.typing import ResponseReturnValue

from app.services.applications import guide
from app.services.platform import manual as manuals
from app.web.guide import bp


@bp.route("/types")
def types() -> ResponseReturnValue:
    """业务说明: every business type a physician can apply for."""
    return render_template("guide/types.html", types=guide.index())


@bp.route("/types/<process_id>")
def type_page(process_id: str) -> ResponseReturnValue:
    return render_template("guide/type.html", t=guide.type_guide(process_id))


@bp.route("/manual/<any(physician, institution):key>")
def manual(key: str) -> ResponseReturnValue:
    return render_template("guide/manual.html", m=manuals.manual(key))


@bp.route("/manual/<any(physician, institution):key>.pdf")
def manual_pdf(key: str) -> ResponseReturnValue:
    cfg = current_app.config
    data = manuals.pdf(key, str(cfg["MEDREG_CJK_FONT"]), int(cfg["MEDREG_CJK_FONT_INDEX"]))
    resp = Response(data, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f"attachment; filename=manual-{key}.pdf"
    return resp


@bp.route("/signup")
def signup() -> ResponseReturnValue:
    """注册说明 (linked from 个人用户注册 and the login page)."""
    return render_template("guide/signup.html")
