from __future__ import annotations

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import Conflict
from app.errors import InvalidInput
from app.models import Role
from app.services.applications import forms
from app.services.applications import prepare as applications
from app.services.engine import processes
from app.services.inbox import bulk
from app.services.inbox import comments
from app.services.inbox import dashboard as dashboard_service
from app.services.inbox import paper
from app.services.inbox import tasks
from app.web.common import int_arg
from app.web.common import role_required
from app.web.common import submission
from app.web.common import upload_dir
from app.web.files import send_attachment
from app.web.files import send_review_table
from app.web.files import send_scan
from app.web.inbox import bp

staff_only = role_required(Role.INSTITUTION, Role.COMMISSION)


@bp.route("/")
@staff_only
def index() -> ResponseReturnValue:
    filters = tasks.InboxFilter.from_args(request.args)
    types, steps = tasks.inbox_choices(current_user)
    rows = tasks.inbox(current_user, filters)
    next_url = (url_for("inbox.index", **filters.args(after=tasks.cursor_of(rows[-1], filters.sort)))
                if len(rows) == tasks.PAGE_SIZE and filters.sort != "name" else None)
    return render_template("inbox/index.html", rows=rows, counts=tasks.inbox_counts(current_user),
                           f=filters, types=types, steps=steps, sorts=tasks.SORTS, next_url=next_url,
                           cap=tasks.COUNT_CAP)


@bp.route("/bulk-confirm", methods=["POST"])
@role_required(Role.INSTITUTION)
def bulk_confirm() -> ResponseReturnValue:
    ids = [n for n in map(int_arg, request.form.getlist("task_id")) if n is not None]
    result = bulk.confirm(current_user, ids, request.form.get("paper_held") == "on")
    if result.confirmed:
        flash(_("已确认 %(n)s 项：申请编号 %(ids)s。", n=len(result.confirmed),
                ids="、".join(map(str, result.confirmed))), "success")
    for task_id, why in result.refused:
        flash(_("任务 %(t)s 未能确认：%(why)s", t=task_id, why=why), "warning")
    return redirect(url_for("inbox.index"))


@bp.route("/applications/<int:instance_id>/comments", methods=["POST"])
@staff_only
def add_comment(instance_id: int) -> ResponseReturnValue:
    task_id = request.form.get("task_id", "")
    try:
        comments.add(current_user, instance_id, request.form.get("comment", ""),
                     int_arg(task_id))
    except InvalidInput as exc:
        flash(exc.message, "warning")
    else:
        flash(_("备注已保存。"), "success")
    task_no = int_arg(task_id)
    back = url_for("inbox.show_task", task_id=task_no) if task_no else url_for("inbox.index")
    return redirect(back + "#comments")


def _render_task(task_id: int, values: dict[str, object] | None = None,
                 errors: dict[str, str] | None = None, status: int = 200) -> ResponseReturnValue:
    page = tasks.task_page(current_user, task_id)
    fields = forms.field_views(page.schema, values, errors, page.options)
    instance_id = page.application.instance.id
    return render_template(
        "inbox/task.html", page=page, fields=fields, errors=errors,
        comments=comments.for_instance(current_user, instance_id),
        review_table=paper.table_title(page.application.instance.definition),
        paper_state=paper.paper_state(current_user, page.application.instance),
        file_url=lambda name: url_for("inbox.file", instance_id=instance_id, field=name),
    ), status


@bp.route("/tasks/<int:task_id>")
@staff_only
def show_task(task_id: int) -> ResponseReturnValue:
    return _render_task(task_id)


@bp.route("/tasks/<int:task_id>/complete", methods=["POST"])
@staff_only
def complete_task(task_id: int) -> ResponseReturnValue:
    try:
        processes.complete_task(current_user, task_id, submission(), upload_dir())
    except InvalidInput as exc:
        return _render_task(task_id, exc.values, exc.errors, 422)
    except Conflict as exc:
        flash(exc.message, "warning")
        return redirect(url_for("inbox.index"))
    flash(_("已办理完成。"), "success")
    return redirect(url_for("inbox.index"))


@bp.route("/dashboard")
@role_required(Role.COMMISSION)
def dashboard() -> ResponseReturnValue:
    rows = dashboard_service.commission_counts(current_user)
    top = max([r.open for r in rows] + [1])
    return render_template("inbox/dashboard.html", rows=rows, top=top)


@bp.route("/cancel", methods=["GET", "POST"])
@staff_only
def report_cancellation() -> ResponseReturnValue:
    values, errors, status = None, None, 200
    if request.method == "POST":
        pid = applications.report_form(current_user)[0]
        try:
            processes.start_case(current_user, pid, submission(), upload_dir())
        except InvalidInput as exc:
            values, errors, status = exc.values, exc.errors, 422
        else:
            flash(_("已提交，请在待办任务中跟踪办理进度。"), "success")
            return redirect(url_for("inbox.index"))
    _pid, title, fields = applications.report_form(current_user, values, errors)
    return render_template("inbox/cancel.html", title=title, fields=fields, errors=errors), status


@bp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@staff_only
def claim(task_id: int) -> ResponseReturnValue:
    tasks.claim(current_user, task_id)
    flash(_("已认领该任务。"), "success")
    return redirect(url_for("inbox.show_task", task_id=task_id))


@bp.route("/tasks/<int:task_id>/unclaim", methods=["POST"])
@staff_only
def unclaim(task_id: int) -> ResponseReturnValue:
    tasks.unclaim(current_user, task_id)
    flash(_("已取消认领。"), "success")
    return redirect(url_for("inbox.index"))


@bp.route("/applications/<int:instance_id>/files/<field>")
@staff_only
def file(instance_id: int, field: str) -> ResponseReturnValue:
    return send_attachment(instance_id, field)


@bp.route("/applications/<int:instance_id>/review-table.pdf")
@staff_only
def review_table(instance_id: int) -> ResponseReturnValue:
    return send_review_table(instance_id)


@bp.route("/applications/<int:instance_id>/paper-scan")
@staff_only
def paper_scan(instance_id: int) -> ResponseReturnValue:
    return send_scan(instance_id)
