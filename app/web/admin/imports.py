"""数据导入: upload a CSV, watch its progress, read the per-row error report."""

from __future__ import annotations

from flask import Response
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.models import ImportStatus
from app.models import Role
from app.services.errors import InvalidInput
from app.services.records import imports
from app.web.admin import bp
from app.web.common import role_required
from app.web.errors import wants_json

admin_only = role_required(Role.ADMIN)


def _csv(text: str, name: str) -> Response:
    return Response(text, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={name}"})


@bp.route("/imports", methods=["GET", "POST"])
@admin_only
def import_list() -> ResponseReturnValue:
    errors: dict[str, str] = {}
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            job_id = imports.create(current_user, request.form.get("kind", ""),
                                    upload.filename or "" if upload else "",
                                    upload.read() if upload else b"")
        except InvalidInput as exc:
            errors = exc.errors
        else:
            return redirect(url_for("admin.import_job", job_id=job_id))
    return render_template("admin/imports.html", kinds=imports.KINDS, jobs=imports.recent(),
                           errors=errors, chosen=request.form.get("kind", "")), (422 if errors else 200)


@bp.route("/imports/template/<kind>.csv")
@admin_only
def import_template(kind: str) -> ResponseReturnValue:
    return _csv(imports.template(kind), f"{kind}.csv")


@bp.route("/imports/<int:job_id>")
@admin_only
def import_job(job_id: int) -> ResponseReturnValue:
    return render_template("admin/import_job.html", job=imports.get(job_id), kinds=imports.KINDS)


@bp.route("/imports/<int:job_id>/step", methods=["POST"])
@admin_only
def import_step(job_id: int) -> ResponseReturnValue:
    job = imports.step(current_user, job_id)
    if wants_json():
        return jsonify(processed=job.processed, total=job.total, imported=job.imported,
                       failed=job.failed, status=job.status)
    if job.status == ImportStatus.DONE:
        flash(_("导入完成：成功 %(ok)s 行，失败 %(bad)s 行。", ok=job.imported, bad=job.failed), "success")
    return redirect(url_for("admin.import_job", job_id=job_id))


@bp.route("/imports/<int:job_id>/errors.csv")
@admin_only
def import_errors(job_id: int) -> ResponseReturnValue:
    return _csv(imports.error_report(job_id), f"import-{job_id}-errors.csv")
