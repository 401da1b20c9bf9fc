"""Instance administration: list with filters, one instance, suspend/resume/terminate/retry."""

from __future__ import annotations

from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.models import Role
from app.services.backoffice import instances
from app.services.engine import processes
from app.services.errors import DomainError
from app.services.errors import NotFound
from app.services.inbox import tasks
from app.web.admin import bp
from app.web.common import role_required

admin_only = role_required(Role.ADMIN)


@bp.route("/instances")
@admin_only
def instance_list() -> ResponseReturnValue:
    args = request.args
    before = args.get("before", "")
    page = instances.search(args.get("process_id", ""), args.get("state", ""), args.get("q", ""),
                            before)
    return render_template("admin/instances.html", page=page, args=args,
                           processes=instances.process_choices(), states=instances.STATES)


@bp.route("/instances/<int:instance_id>")
@admin_only
def instance(instance_id: int) -> ResponseReturnValue:
    return render_template("admin/instance.html", d=instances.detail(current_user, instance_id))


@bp.route("/instances/<int:instance_id>/diagram")
@admin_only
def instance_diagram(instance_id: int) -> ResponseReturnValue:
    view = tasks.diagram_of(current_user, instance_id)
    return jsonify({"xml": view.xml, "done": view.done, "current": view.current})


@bp.route("/instances/<int:instance_id>/<any(suspend, resume, terminate, retry):action>",
          methods=["POST"])
@admin_only
def instance_action(instance_id: int, action: str) -> ResponseReturnValue:
    reason = request.form.get("reason", "")
    try:
        if action in ("suspend", "resume"):
            processes.set_suspended(current_user, instance_id, action == "suspend", reason)
        elif action == "terminate":
            processes.terminate(current_user, instance_id, reason)
        else:
            processes.retry(current_user, instance_id)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        flash(exc.message, "error")
    else:
        flash({"suspend": _("已暂停办理。"), "resume": _("已恢复办理。"), "terminate": _("申请已终止。"),
               "retry": _("已重新执行失败的步骤。")}[action], "success")
    return redirect(url_for("admin.instance", instance_id=instance_id))
