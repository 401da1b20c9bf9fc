from __future__ import annotations

from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import send_file
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.extensions import limiter
from app.services.applications import attachments
from app.services.applications import eligibility
from app.services.applications import institutions
from app.services.applications import prepare as applications
from app.services.applications import timeline
from app.services.engine import processes
from app.services.errors import DomainError
from app.services.errors import InvalidInput
from app.services.inbox import paper
from app.services.inbox import tasks
from app.services.records import maintenance
from app.services.records import profile
from app.web.common import activated_physician
from app.web.common import form_token
from app.web.common import int_arg
from app.web.common import me
from app.web.common import reads_only
from app.web.common import submission
from app.web.common import upload_dir
from app.web.files import send_attachment
from app.web.files import send_review_table
from app.web.physician import bp

physician_only = activated_physician


@bp.route("/")
@reads_only
@physician_only
def home() -> ResponseReturnValue:
    return render_template("physician/home.html", open_tasks=tasks.my_open_tasks(current_user))


@bp.route("/qualification")
@reads_only
@physician_only
def qualification() -> ResponseReturnValue:
    qual, category, cert_no = profile.qualification(current_user)
    return render_template("physician/qualification.html", qual=qual, category=category,
                           practice_cert_no=cert_no)


@bp.route("/practice")
@reads_only
@physician_only
def practice() -> ResponseReturnValue:
    return render_template("physician/practice.html",
                           registrations=profile.registrations(current_user))


@bp.route("/assessment")
@physician_only
def assessment() -> ResponseReturnValue:
    return render_template("physician/assessment.html",
                           assessments=profile.assessments(current_user))


@bp.route("/profile", methods=["GET", "POST"], endpoint="profile")
@physician_only
def profile_page() -> ResponseReturnValue:
    errors: dict[str, str] = {}
    values: dict[str, object] = {}
    status = 200
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "photo":
                sub = submission()
                maintenance.submit_photo(current_user, sub.files.get("photo"), upload_dir())
                flash(_("相片已上传，须等待您所在医疗机构审核。"), "success")
            elif action == "department":
                dept = request.form.get("department_id", "")
                maintenance.set_department(current_user, int_arg(dept))
                flash(_("科室已保存。"), "success")
            else:
                processes.start(current_user, "info_change", submission(), upload_dir(),
                                            token=form_token())
                flash(_("修改已提交，须经您执业所在医疗机构审核通过后方可生效。"), "success")
            return redirect(url_for("physician.profile"))
        except InvalidInput as exc:
            errors, values, status = exc.errors, exc.values, 422
        except DomainError as exc:
            flash(exc.message, "warning")
    page = maintenance.view(current_user)
    return render_template("physician/profile.html", page=page, errors=errors,
                           info_fields=maintenance.info_fields(current_user, values, errors)), status


@bp.route("/profile/photo/<sha256>")
@physician_only
def photo(sha256: str) -> ResponseReturnValue:
    sha, mime = maintenance.photo_of(current_user, sha256)
    return send_file(attachments.path_of(upload_dir(), sha), mimetype=mime)


@bp.route("/apply")
@reads_only
@physician_only
def apply_list() -> ResponseReturnValue:
    return render_template("physician/apply_list.html",
                           types=eligibility.available_types(current_user))


@bp.route("/apply/<process_id>", methods=["GET", "POST"])
@reads_only  # its GET: the form (its POST writes as every POST)
@physician_only
@limiter.limit("120 per minute", methods=["POST"])  # 查询 without JavaScript as the JSON search
def apply(process_id: str) -> ResponseReturnValue:
    if not eligibility.is_business_type(process_id):
        return render_template("error.html", code=404, title="页面不存在",
                               message="不支持的业务类型。"), 404
    values, errors, status, sub = None, None, 200, None
    find = request.form.get("find") if request.method == "POST" else None
    if find in ("search", "pick"):  # 拟执业机构: 查询 / 选定 without JavaScript, nothing submitted
        page = applications.searched_form(me(), process_id, submission(), upload_dir(), find)
        return render_template("physician/apply.html", page=page, errors=None)
    if request.method == "POST":
        sub = submission()
        try:
            result = processes.start(current_user, process_id, sub, upload_dir(),
                                                 token=form_token())
        except InvalidInput as exc:
            values, errors, status = exc.values, exc.errors, 422
        else:
            flash(_("申请已提交，请等待医疗机构确认。"), "success")
            return redirect(url_for("physician.application", instance_id=result.instance_id))
    page = applications.form_page(me(), process_id, values, errors,
                                  typed=sub.fields if sub is not None else None)
    return render_template("physician/apply.html", page=page, errors=errors), status


@bp.route("/institutions")
@physician_only
@limiter.limit("120 per minute")
def institution_search() -> ResponseReturnValue:
    """拟执业机构 matching what was typed (JSON; at most 20, for the form's combobox)."""
    found = institutions.search(request.args.get("q"))
    return jsonify({"results": [{"id": m.id, "name": m.name, "region": m.region,
                                 "label": m.label} for m in found]})


@bp.route("/institutions/<int:institution_id>/departments")
@physician_only
@limiter.limit("120 per minute")
def institution_departments(institution_id: int) -> ResponseReturnValue:
    """The active 科室 of one institution (JSON), once the physician picked it."""
    return jsonify({"results": [{"id": int(d), "name": n}
                                for d, n in institutions.departments(institution_id)]})


@bp.route("/applications", endpoint="applications")
@physician_only
def applications_list() -> ResponseReturnValue:
    return render_template("physician/applications.html",
                           items=tasks.my_applications(current_user))



@bp.route("/applications/<int:instance_id>")
@physician_only
def application(instance_id: int) -> ResponseReturnValue:
    view = tasks.application_view(me(), instance_id)
    return render_template(
        "physician/application.html", view=view, holder=tasks.holder(view),
        timeline=timeline.timeline_of(current_user, instance_id),
        can_withdraw=processes.can_withdraw(view.instance),
        review_table=paper.table_title(view.instance.definition),
        file_url=lambda name: url_for("physician.file", instance_id=instance_id, field=name))


@bp.route("/applications/<int:instance_id>/review-table.pdf")
@physician_only
def review_table(instance_id: int) -> ResponseReturnValue:
    return send_review_table(instance_id)


@bp.route("/applications/<int:instance_id>/withdraw", methods=["POST"])
@physician_only
def withdraw(instance_id: int) -> ResponseReturnValue:
    processes.withdraw(current_user, instance_id, token=form_token())
    flash(_("申请已撤回。"), "success")
    return redirect(url_for("physician.application", instance_id=instance_id))


@bp.route("/applications/<int:instance_id>/files/<field>")
@physician_only
def file(instance_id: int, field: str) -> ResponseReturnValue:
    return send_attachment(instance_id, field)


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@physician_only
def task(task_id: int) -> ResponseReturnValue:
    values, errors, status = None, None, 200
    if request.method == "POST":
        sub = submission()
        try:
            instance_id = processes.complete_task(current_user, task_id, sub, upload_dir(),
                                                  token=form_token())
        except InvalidInput as exc:
            values, errors, status = exc.values, exc.errors, 422
        else:
            flash(_("补正材料已提交。"), "success")
            return redirect(url_for("physician.application", instance_id=instance_id))
    task, page = tasks.physician_task_form(me(), task_id, values, errors)
    return render_template("physician/task.html", task=task, page=page, errors=errors), status
