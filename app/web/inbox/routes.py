from __future__ import annotations

from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.models import Role
from app.services.applications import forms
from app.services.applications import prepare as applications
from app.services.applications import staff_cases
from app.services.engine import processes
from app.services.errors import Conflict
from app.services.errors import InvalidInput
from app.services.inbox import bulk
from app.services.inbox import comments
from app.services.inbox import dashboard as dashboard_service
from app.services.inbox import paper
from app.services.inbox import tasks
from app.services.records import penalties
from app.web.common import form_token
from app.web.common import int_arg
from app.web.common import me
from app.web.common import reads_only
from app.web.common import role_required
from app.web.common import submission
from app.web.common import upload_dir
from app.web.files import send_attachment
from app.web.files import send_review_table
from app.web.files import send_scan
from app.web.inbox import bp
from app.web.inbox.rows import options
from app.web.inbox.rows import task_rows

staff_only = role_required(Role.INSTITUTION, Role.COMMISSION)


@bp.route("/")
@reads_only
@staff_only
def index() -> ResponseReturnValue:
    filters = tasks.InboxFilter.from_args(request.args)
    page = tasks.inbox_page(me(), filters)
    next_url = (url_for("inbox.index", **filters.args(after=page.next_after))
                if page.next_after is not None else None)
    return render_template("inbox/index.html", rows=page.rows, task_rows=task_rows, options=options,
                           bulk=page.bulk, counts=page.counts,
                           f=filters, types=page.types, steps=page.steps, sorts=tasks.SORTS,
                           next_url=next_url, cap=tasks.COUNT_CAP)


@bp.route("/bulk-confirm", methods=["POST"])
@role_required(Role.INSTITUTION)
def bulk_confirm() -> ResponseReturnValue:
    ids = [n for n in map(int_arg, request.form.getlist("task_id")) if n is not None]
    result = bulk.confirm(current_user, ids, request.form.get("paper_held") == "on",
                          token=form_token())
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
                     int_arg(task_id), token=form_token())
    except InvalidInput as exc:
        flash(exc.message, "warning")
    else:
        flash(_("备注已保存。"), "success")
    task_no = int_arg(task_id)
    back = url_for("inbox.show_task", task_id=task_no) if task_no else url_for("inbox.index")
    return redirect(back + "#comments")


def _render_task(task_id: int, values: dict[str, object] | None = None,
                 errors: dict[str, str] | None = None, status: int = 200,
                 extension: dict[str, object] | None = None,
                 extension_errors: dict[str, str] | None = None) -> ResponseReturnValue:
    user = me()
    page = tasks.task_page(user, task_id)
    fields = forms.field_views(page.schema, values, errors, page.options)
    instance_id = page.application.instance.id
    return render_template(
        "inbox/task.html", page=page, fields=fields, errors=errors,
        extension=extension or {}, extension_errors=extension_errors or {},
        comments=page.comments,
        review_table=paper.table_title(page.version or page.application.instance.definition),
        paper_state=paper.paper_state(user, page.application.instance, page.version,
                                      page.application.tasks),
        file_url=lambda name: url_for("inbox.file", instance_id=instance_id, field=name),
    ), status


@bp.route("/tasks/<int:task_id>")
@reads_only
@staff_only
def show_task(task_id: int) -> ResponseReturnValue:
    return _render_task(task_id)


@bp.route("/tasks/<int:task_id>/complete", methods=["POST"])
@staff_only
def complete_task(task_id: int) -> ResponseReturnValue:
    try:
        processes.complete_task(current_user, task_id, submission(), upload_dir(),
                                token=form_token())
    except InvalidInput as exc:
        return _render_task(task_id, exc.values, exc.errors, 422)
    except Conflict as exc:
        flash(exc.message, "warning")
        return redirect(url_for("inbox.index"))
    flash(_("已办理完成。"), "success")
    return redirect(url_for("inbox.index"))


@bp.route("/tasks/<int:task_id>/extend", methods=["POST"])
@role_required(Role.COMMISSION)
def extend_task(task_id: int) -> ResponseReturnValue:
    try:
        due = processes.extend(current_user, task_id, request.form.get("reason", ""),
                               request.form.get("approved_by", ""))
    except InvalidInput as exc:
        return _render_task(task_id, extension=exc.values, extension_errors=exc.errors,
                            status=422)
    except Conflict as exc:
        flash(exc.message, "warning")
        return redirect(url_for("inbox.show_task", task_id=task_id))
    flash(_("已延期，办理期限延至 %(d)s。", d=f"{due.year}年{due.month:02d}月{due.day:02d}日"),
          "success")
    return redirect(url_for("inbox.show_task", task_id=task_id))


@bp.route("/dashboard")
@reads_only
@role_required(Role.COMMISSION)
def dashboard() -> ResponseReturnValue:
    board = dashboard_service.commission_dashboard(current_user)
    rows = board.stats.rows
    return render_template("inbox/dashboard.html", rows=rows, top=max([r.open for r in rows] + [1]),
                           late=board.late, stats=board.stats,
                           every_minutes=round(float(current_app.config["MEDREG_STATS_SECONDS"]) / 60))


@bp.route("/cancel", methods=["GET", "POST"])
@staff_only
def report_cancellation() -> ResponseReturnValue:
    values, errors, status = None, None, 200
    if request.method == "POST":
        pid = applications.report_form(current_user)[0]
        try:
            started = processes.start(current_user, pid, submission(), upload_dir(), token=form_token())
        except InvalidInput as exc:
            values, errors, status = exc.values, exc.errors, 422
        else:
            flash(_("已提交，请在待办任务中跟踪办理进度。"), "success")
            if started.late_days:
                flash(_("本次报告已超过 30 日报告期限 %(n)s 天，已标注逾期报告。",
                        n=started.late_days), "warning")
            return redirect(url_for("inbox.index"))
    _pid, title, fields = applications.report_form(current_user, values, errors)
    return render_template("inbox/cancel.html", title=title, fields=fields, errors=errors), status


@bp.route("/start")
@staff_only
def start_list() -> ResponseReturnValue:
    return render_template("inbox/start_list.html", rows=staff_cases.startable(current_user))


@bp.route("/start/<process_id>", methods=["GET", "POST"])
@staff_only
def start_case(process_id: str) -> ResponseReturnValue:
    values, errors, status = None, None, 200
    if request.method == "POST":
        try:
            processes.start(current_user, process_id, submission(), upload_dir(), token=form_token())
        except InvalidInput as exc:
            values, errors, status = exc.values, exc.errors, 422
        else:
            flash(_("已提交，请在待办任务中跟踪办理进度。"), "success")
            return redirect(url_for("inbox.index"))
    page = staff_cases.start_page(current_user, process_id, values, errors)
    return render_template("inbox/start.html", page=page, errors=errors), status


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


commission_only = role_required(Role.COMMISSION)


@bp.route("/penalties")
@commission_only
def find_registration() -> ResponseReturnValue:
    """行政处罚记录: look a registration of the jurisdiction up by its 执业证书编码."""
    cert_no = request.args.get("cert_no", "")
    errors: dict[str, str] = {}
    if cert_no:
        try:
            reg_id = penalties.lookup(current_user, cert_no)
        except InvalidInput as exc:
            errors = exc.errors
        else:
            return redirect(url_for("inbox.registration_penalties", registration_id=reg_id))
    return render_template("inbox/penalties.html", page=None, errors=errors,
                           values={"cert_no": cert_no}), (422 if errors else 200)


@bp.route("/registrations/<int:registration_id>/penalties", methods=["GET", "POST"])
@commission_only
def registration_penalties(registration_id: int) -> ResponseReturnValue:
    """The penalties of one registration and the form recording a 暂停执业 or 吊销 decision."""
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        try:
            penalties.record(current_user, registration_id, form.get("kind", ""),
                             form.get("decided_on", ""), form.get("document_no", ""),
                             form.get("reason", ""), form.get("ends_on", ""))
        except InvalidInput as exc:
            errors, values = exc.errors, {k: str(v) for k, v in exc.values.items()}
        else:
            flash(_("行政处罚决定已记录。"), "success")
            return redirect(url_for("inbox.registration_penalties",
                                    registration_id=registration_id))
    return render_template("inbox/penalties.html", page=penalties.page(current_user, registration_id),
                           errors=errors, values=values), (422 if errors else 200)


@bp.route("/applications/<int:instance_id>/review-table.pdf")
@staff_only
def review_table(instance_id: int) -> ResponseReturnValue:
    return send_review_table(instance_id)


@bp.route("/applications/<int:instance_id>/paper-scan")
@staff_only
def paper_scan(instance_id: int) -> ResponseReturnValue:
    return send_scan(instance_id)
