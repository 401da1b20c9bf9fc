from __future__ import annotations

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_required

from app.services.platform import messages
from app.web.common import safe_next
from app.web.messages import bp


def _back() -> str:
    """Back to the page of the list the person was on."""
    return safe_next(request.form.get("next")) or url_for("messages.index")


@bp.route("/")
@login_required
def index() -> ResponseReturnValue:
    page = messages.page(current_user, request.args.get("before", ""))
    return render_template("messages/index.html", page=page)


@bp.route("/<int:message_id>/read", methods=["POST"])
@login_required
def read(message_id: int) -> ResponseReturnValue:
    messages.mark_read(current_user, message_id)
    return redirect(_back())


@bp.route("/read-all", methods=["POST"])
@login_required
def read_all() -> ResponseReturnValue:
    count = messages.mark_all_read(current_user)
    flash(_("已将 %(n)s 条消息标为已读", n=count) if count else _("没有未读消息"), "success")
    return redirect(_back())
