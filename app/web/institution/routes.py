from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.models import Role
from app.services import activation
from app.web.common import role_required
from app.web.institution import bp

staff_only = role_required(Role.INSTITUTION)


@bp.route("/activation-codes")
@staff_only
def activation_codes() -> ResponseReturnValue:
    return render_template("institution/activation_codes.html", rows=activation.roster(current_user))


@bp.route("/activation-codes/<int:registration_id>", methods=["POST"])
@staff_only
def issue_code(registration_id: int) -> ResponseReturnValue:
    issued = activation.issue(current_user, registration_id)
    resp = render_template("institution/code_issued.html", issued=issued)
    return resp, 200, {"Cache-Control": "no-store"}
