"""The process editor: list, editor page, draft JSON API, publish and rollback."""

from __future__ import annotations

import json
from typing import Any

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
from app.services.backoffice import case_runs
from app.services.backoffice import configured_types
from app.services.backoffice import editor
from app.services.backoffice import impact
from app.services.errors import DomainError
from app.services.errors import InvalidInput
from app.web.admin import bp
from app.web.common import role_required

admin_only = role_required(Role.ADMIN)


def _body() -> dict[str, object]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


@bp.route("/processes")
@admin_only
def processes() -> ResponseReturnValue:
    return render_template("admin/processes.html", rows=editor.overview())


@bp.route("/processes/new", methods=["GET", "POST"])
@admin_only
def new_process() -> ResponseReturnValue:
    """新建流程: a new business type from the skeleton or an empty diagram, opened as a draft."""
    form: dict[str, object] = {"template": "skeleton", "starter": "physician",
                               "refusal_rules": ["registration_current", "no_open_same"],
                               "operations": []}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {"process_id": request.form.get("process_id", ""),
                "name": request.form.get("name", ""),
                "starter": request.form.get("starter", ""),
                "template": request.form.get("template", ""),
                "refusal_rules": request.form.getlist("refusal_rules"),
                "operations": request.form.getlist("operations")}
        try:
            pid = configured_types.create(current_user, form["process_id"], form["name"],
                                          form["starter"], form["template"],
                                          form["refusal_rules"], form["operations"])
        except InvalidInput as exc:
            errors = exc.errors
        else:
            flash(_("已新建流程 %(p)s：请在编辑器中完善流程图和表单，添加测试用例并全部通过后发布。", p=pid),
                  "success")
            return redirect(url_for("admin.process_editor", process_id=pid))
    return render_template("admin/process_new.html", choices=configured_types.choices(),
                           form=form, errors=errors), (422 if errors else 200)


@bp.route("/processes/<process_id>")
@admin_only
def process_editor(process_id: str) -> ResponseReturnValue:
    return _editor_page(process_id)


def _editor_page(process_id: str, errors: dict[str, str] | None = None,
                 kept: dict[str, Any] | None = None, status: int = 200) -> ResponseReturnValue:
    """The editor page; after a refused 发布, with the errors next to the fields and the input kept."""
    draft = editor.open_draft(current_user, process_id)
    form_ids, operations = editor.editor_choices(draft)
    return render_template("admin/editor.html", draft=draft, versions=editor.versions(process_id),
                           form_ids=json.dumps(form_ids), operations=json.dumps(operations),
                           impact=impact.impact(process_id),
                           template_cases=configured_types.has_template(process_id),
                           errors=errors or {}, kept=kept or {}), status


@bp.route("/processes/<process_id>/cases/template", methods=["POST"])
@admin_only
def template_cases(process_id: str) -> ResponseReturnValue:
    """Add the skeleton's test cases (准予 and 不予批准) to a new process's draft."""
    try:
        keys = configured_types.add_template_cases(current_user, process_id)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(_("已按模板添加测试用例：%(k)s。请运行测试用例。", k="、".join(keys)), "success")
    return redirect(url_for("admin.process_editor", process_id=process_id))


@bp.route("/processes/<process_id>/draft.json")
@admin_only
def draft_json(process_id: str) -> ResponseReturnValue:
    d = editor.open_draft(current_user, process_id)
    return jsonify(xml=d.xml, forms=d.forms, revision=d.revision, base_version=d.base_version)


@bp.route("/processes/<process_id>/draft", methods=["POST"])
@admin_only
def save_draft(process_id: str) -> ResponseReturnValue:
    body = _body()
    d = editor.save_draft(current_user, process_id, body.get("xml"), body.get("forms"),
                          body.get("revision"))
    return jsonify(revision=d.revision, saved_at=d.updated_at.astimezone().strftime("%H:%M:%S"))


@bp.route("/processes/<process_id>/check", methods=["POST"])
@admin_only
def check_draft(process_id: str) -> ResponseReturnValue:
    problems = editor.check_draft(process_id)
    return jsonify(problems=[{"element_id": p.element_id, "message": p.message} for p in problems])


@bp.route("/processes/<process_id>/cases/run", methods=["POST"])
@admin_only
def run_cases(process_id: str) -> ResponseReturnValue:
    """Queue a run of the test cases on the saved draft; the page then polls case_run."""
    return jsonify(case_runs.start(current_user, process_id).to_json()), 202


@bp.route("/processes/<process_id>/cases/<case_key>/run", methods=["POST"])
@admin_only
def run_one_case(process_id: str, case_key: str) -> ResponseReturnValue:
    """运行此用例: queue a run of the one saved case; the page polls case_run as for all."""
    return jsonify(case_runs.start(current_user, process_id, case_key).to_json()), 202


@bp.route("/processes/<process_id>/cases/run.json")
@admin_only
def case_run(process_id: str) -> ResponseReturnValue:
    run = case_runs.status(process_id)
    return jsonify(run.to_json() if run is not None else {"state": "none", "finished": True})


@bp.route("/processes/<process_id>/cases.json")
@admin_only
def cases_json(process_id: str) -> ResponseReturnValue:
    found, tasks = editor.case_sheet(process_id)
    return jsonify(cases={c.key: c.content for c in found},
                   tasks=[{"id": t.spec_id, "title": t.title, "lane": t.lane, "form": t.form_id,
                           "fields": t.fields, "required": t.required} for t in tasks])


@bp.route("/processes/<process_id>/cases", methods=["POST"])
@admin_only
def save_case(process_id: str) -> ResponseReturnValue:
    body = _body()
    d = editor.save_case(current_user, process_id, body.get("key"), body.get("content"))
    return jsonify(cases=[c.key for c in d.cases])


@bp.route("/processes/<process_id>/diff.json")
@admin_only
def draft_diff(process_id: str) -> ResponseReturnValue:
    return jsonify(lines=editor.diff(process_id))


@bp.route("/form-preview", methods=["POST"])
@admin_only
def form_preview() -> ResponseReturnValue:
    fields = editor.form_preview(_body().get("schema"))
    return jsonify(html=render_template("admin/form_preview.html", fields=fields))


@bp.route("/processes/<process_id>/publish", methods=["POST"])
@admin_only
def publish(process_id: str) -> ResponseReturnValue:
    ticked = request.form.getlist("exception")
    exceptions = {e: request.form.get(f"reason-{e}", "") for e in ticked}
    try:
        version = editor.publish(current_user, process_id, request.form.get("note", ""), exceptions)
    except InvalidInput as exc:
        flash(exc.message, "error")
        kept = {"note": request.form.get("note", ""), "ticked": ticked,
                "reasons": {k[7:]: v for k, v in request.form.items() if k.startswith("reason-")}}
        return _editor_page(process_id, exc.errors, kept, 422)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.process_editor", process_id=process_id))
    flash(_("已发布版本 %(v)s：新的申请将使用该版本，已开始的申请继续按原版本办理。", v=version), "success")
    return redirect(url_for("admin.process_editor", process_id=process_id))


@bp.route("/processes/<process_id>/impact")
@admin_only
def impact_section(process_id: str) -> ResponseReturnValue:
    """The 发布 section's impact table again (the editor refreshes it after each save)."""
    return render_template("admin/_impact.html", impact=impact.impact(process_id))


@bp.route("/processes/<process_id>/migrate", methods=["POST"])
@admin_only
def migrate_instances(process_id: str) -> ResponseReturnValue:
    raw = request.form.get("instance_id", "").strip()
    instance_id = int(raw) if raw.isdigit() else None
    try:
        done = impact.migrate(current_user, process_id, instance_id)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.process_editor", process_id=process_id) + "#impact")
    flash(_("已迁移 %(n)s 个申请到当前版本；%(r)s 个申请不能迁移，仍按原版本办理。",
            n=len(done.moved), r=len(done.refused)), "success")
    return redirect(url_for("admin.process_editor", process_id=process_id) + "#impact")


@bp.route("/processes/<process_id>/rollback/<int:version>", methods=["POST"])
@admin_only
def rollback(process_id: str, version: int) -> ResponseReturnValue:
    new = editor.rollback(current_user, process_id, version)
    flash(_("已回滚：版本 %(n)s 与版本 %(v)s 内容相同，新的申请将使用它。", n=new, v=version), "success")
    return redirect(url_for("admin.process_editor", process_id=process_id))


@bp.route("/processes/<process_id>/discard", methods=["POST"])
@admin_only
def discard(process_id: str) -> ResponseReturnValue:
    editor.discard_draft(current_user, process_id)
    flash(_("草稿已放弃。"), "success")
    return redirect(url_for("admin.processes"))
