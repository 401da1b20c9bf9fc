from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from flask import Response
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import stream_with_context
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.models import Role
from app.services.accounts import activation
from app.services.errors import InvalidInput
from app.services.records import assessments
from app.services.records import departments
from app.services.records import rosters
from app.web import staff_pages
from app.web.common import int_arg
from app.web.common import reads_only
from app.web.common import role_required
from app.web.institution import bp

staff_only = role_required(Role.INSTITUTION)


@bp.route("/rosters/<kind>")
@reads_only
@staff_only
def roster(kind: str) -> ResponseReturnValue:
    lines = rosters.roster(current_user, kind)
    return render_template("institution/roster.html", kind=kind, kinds=rosters.KINDS,
                           lines=lines)


@bp.route("/rosters/<kind>.csv")
@staff_only
def roster_csv(kind: str) -> ResponseReturnValue:
    body = rosters.roster_csv(current_user, kind)
    name = quote(f"{rosters.KINDS.get(kind, kind)}.csv")
    return Response(stream_with_context(body), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}",
                             "Cache-Control": "no-store"})


@bp.route("/activation-codes")
@staff_only
def activation_codes() -> ResponseReturnValue:
    return render_template("institution/activation_codes.html", rows=activation.roster(current_user))


@bp.route("/activation-codes/<int:registration_id>", methods=["POST"])
@staff_only
def issue_code(registration_id: int) -> ResponseReturnValue:
    issued = activation.issue(current_user, registration_id)
    # shown once, on the page the browser is sent to: reloading it issues nothing new
    session["issued_code"] = {"code": issued.code, "name": issued.name,
                              "expires_at": issued.expires_at.isoformat(),
                              "sent_to": issued.sent_to}
    return redirect(url_for("institution.issued_code"))


@bp.route("/activation-codes/<int:registration_id>/mobile", methods=["POST"])
@staff_only
def roster_mobile(registration_id: int) -> ResponseReturnValue:
    try:
        name = activation.set_roster_mobile(current_user, registration_id, request.form.get("mobile", ""))
    except InvalidInput as exc:
        flash(next(iter(exc.errors.values())), "warning")
    else:
        flash(_("已登记%(n)s的手机号。", n=name), "success")
    return redirect(url_for("institution.activation_codes"))


@bp.route("/activation-codes/issued")
@staff_only
def issued_code() -> ResponseReturnValue:
    shown = session.pop("issued_code", None)
    if shown is None:
        return redirect(url_for("institution.activation_codes"))
    issued = activation.IssuedCode(shown["code"], shown["name"],
                                   datetime.fromisoformat(shown["expires_at"]), shown["sent_to"])
    resp = render_template("institution/code_issued.html", issued=issued)
    return resp, 200, {"Cache-Control": "no-store"}


@bp.route("/staff", methods=["GET", "POST"], endpoint="staff_list")
@staff_only
def staff_accounts() -> ResponseReturnValue:
    return staff_pages.listing("institution.staff")


@bp.route("/staff/<int:user_id>/<any(disable, enable, reset, unlock):name>", methods=["POST"],
          endpoint="staff_action")
@staff_only
def staff_action(user_id: int, name: str) -> ResponseReturnValue:
    return staff_pages.action("institution.staff", user_id, name)


@bp.route("/staff/issued", endpoint="staff_issued")
@staff_only
def staff_issued() -> ResponseReturnValue:
    return staff_pages.issued("institution.staff")


@bp.route("/departments", methods=["GET", "POST"])
@staff_only
def departments_page() -> ResponseReturnValue:
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        dept_id = form.get("department_id", "")
        try:
            departments.save(current_user, form.get("code", ""), form.get("name", ""),
                             form.get("subject_code", ""), int_arg(dept_id))
        except InvalidInput as exc:
            errors, values = exc.errors, {**exc.values, "department_id": dept_id}
        else:
            flash(_("科室已保存。"), "success")
            return redirect(url_for("institution.departments_page"))
    return render_template("institution/departments.html", page=departments.page(current_user),
                           errors=errors, values=values), (422 if errors else 200)


@bp.route("/departments/<int:department_id>/<any(disable, enable):name>", methods=["POST"])
@staff_only
def department_active(department_id: int, name: str) -> ResponseReturnValue:
    dept = departments.set_active(current_user, department_id, name == "enable")
    flash(_("科室 %(n)s 已%(a)s。", n=dept.name, a=_("启用") if name == "enable" else _("停用")), "success")
    return redirect(url_for("institution.departments_page"))


ASSESSMENT_FIELDS = ("cycle", "body", "procedure", "result", "suspended_from", "suspended_to",
                     "reassessment_result")


def _assessments_page(values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                      result: assessments.ImportResult | None = None,
                      status: int = 200) -> ResponseReturnValue:
    return render_template("institution/assessments.html", page=assessments.page(current_user),
                           values=values or {}, errors=errors or {}, result=result,
                           columns=assessments.COLUMNS, required=assessments.REQUIRED_COLUMNS,
                           results=assessments.RESULTS, procedures=assessments.PROCEDURES), status


@bp.route("/assessments", methods=["GET", "POST"])
@staff_only
def assessments_page() -> ResponseReturnValue:
    if request.method == "GET":
        return _assessments_page()
    form = request.form
    values = {k: form.get(k, "") for k in (*ASSESSMENT_FIELDS, "registration_id")}
    try:
        assessments.enter(current_user, int_arg(values["registration_id"]), values)
    except InvalidInput as exc:
        return _assessments_page(values, exc.errors, status=422)
    flash(_("定期考核结果已保存。"), "success")
    return redirect(url_for("institution.assessments_page"))


@bp.route("/assessments/import", methods=["POST"])
@staff_only
def assessments_import() -> ResponseReturnValue:
    upload = request.files.get("file")
    try:
        result = assessments.import_csv(current_user, upload.filename or "" if upload else "",
                                        upload.read() if upload else b"")
    except InvalidInput as exc:
        return _assessments_page(errors=exc.errors, status=422)
    return _assessments_page(result=result)


@bp.route("/assessments/template.csv")
@staff_only
def assessments_template() -> ResponseReturnValue:
    return _csv_download(assessments.template(), "定期考核结果模板.csv")


@bp.route("/assessments/import/<int:job_id>/errors.csv")
@staff_only
def assessments_errors(job_id: int) -> ResponseReturnValue:
    return _csv_download(assessments.error_report(current_user, job_id),
                         f"定期考核导入-{job_id}-错误报告.csv")


def _csv_download(body: str, filename: str) -> ResponseReturnValue:
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
                             "Cache-Control": "no-store"})
