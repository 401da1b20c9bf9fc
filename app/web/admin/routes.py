from __future__ import annotations

from datetime import date

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.models import Role
from app.services.backoffice import calendar
from app.services.errors import InvalidInput
from app.web import staff_pages
from app.web.admin import bp
from app.web.common import int_arg
from app.web.common import role_required

admin_only = role_required(Role.ADMIN)


@bp.route("/")
@admin_only
def home() -> ResponseReturnValue:
    return render_template("admin/home.html", missing=calendar.missing_years_warning())


def _dates(text: str) -> tuple[list[date], list[str]]:
    out, bad = [], []
    for token in text.replace("，", ",").replace("\n", ",").split(","):
        token = token.strip()
        if not token:
            continue
        try:
            out.append(date.fromisoformat(token))
        except ValueError:
            bad.append(token)
    return out, bad


@bp.route("/calendar", methods=["GET", "POST"], endpoint="calendar")
@admin_only
def calendar_page() -> ResponseReturnValue:
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        off, bad_off = _dates(form.get("days_off", ""))
        work, bad_work = _dates(form.get("makeup_days", ""))
        year = form.get("year", "")
        if bad_off or bad_work:
            errors["days"] = _("日期格式应为 2027-01-01，无法识别：%(bad)s",
                               bad="、".join(bad_off + bad_work))
        elif int_arg(year) is None:
            errors["year"] = _("请填写年份")
        else:
            try:
                calendar.enter_year(current_user, int(year), off, work)
            except InvalidInput as exc:
                errors = exc.errors
            else:
                flash(_("%(year)s 年工作日历已保存。", year=year), "success")
                return redirect(url_for("admin.calendar"))
    years, missing = calendar.year_statuses(current_user)
    return render_template("admin/calendar.html", years=years, missing=missing, errors=errors,
                           form=form), (422 if errors else 200)



@bp.route("/users", methods=["GET", "POST"], endpoint="users_list")
@admin_only
def users() -> ResponseReturnValue:
    return staff_pages.listing("admin.users")


@bp.route("/users/<int:user_id>/<any(" + ", ".join(staff_pages.ACTIONS) + "):name>", methods=["POST"],
          endpoint="users_action")
@admin_only
def user_action(user_id: int, name: str) -> ResponseReturnValue:
    return staff_pages.action("admin.users", user_id, name)


@bp.route("/users/issued", endpoint="users_issued")
@admin_only
def user_issued() -> ResponseReturnValue:
    return staff_pages.issued("admin.users")
