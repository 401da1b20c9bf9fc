"""/healthz for the load balancer: ok / not ok to anyone, the figures to operators.

Anonymous callers get ``200 {"status": "ok"}`` or ``503 {"status": "unavailable"}``; a caller
presenting ``Authorization: Bearer <MEDREG_HEALTH_TOKEN>`` (or an administrator's session)
also gets the sweep age and the outbox backlog. No template, no rate limit, no CSRF.
"""

from __future__ import annotations

import hmac

from flask import Blueprint
from flask import current_app
from flask import jsonify
from flask import request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.extensions import csrf
from app.extensions import limiter
from app.models import Role
from app.services.platform import health

bp = Blueprint("health", __name__)
csrf.exempt(bp)


def _operator() -> bool:
    """The configured token (compared in constant time) or an administrator's session."""
    token = str(current_app.config.get("MEDREG_HEALTH_TOKEN") or "")
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer "):
        if hmac.compare_digest(given[len("Bearer "):].strip().encode(), token.encode()):
            return True
    if not request.cookies:  # a load balancer: no session to look up
        return False
    try:
        return bool(current_user.is_authenticated and current_user.role is Role.ADMIN)
    except Exception:  # noqa: BLE001 - a broken database must still answer 503, not 500
        return False


@bp.route("/healthz")
@limiter.exempt
def healthz() -> ResponseReturnValue:
    result = health.check(current_app.config)
    body: dict[str, object] = {"status": "ok" if result.ok else "unavailable"}
    if _operator():
        body.update(result.details())
    resp = jsonify(body)
    resp.status_code = 200 if result.ok else 503
    resp.headers["Cache-Control"] = "no-store"
    return resp
