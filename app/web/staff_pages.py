"""The account pages shared by the administrator (用户管理) and an institution's 机构管理员
(工作人员账户): list, create, the actions, and a password shown once."""

from __future__ import annotations

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.models import Role
from app.services.accounts import staff
from app.services.errors import InvalidInput

ACTIONS = ("disable", "enable", "reset", "unlock", "org_admin_on", "org_admin_off")


def listing(base: str) -> ResponseReturnValue:
    """GET: the accounts; POST: create one. ``base`` is the blueprint's endpoint prefix."""
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        try:
            issued = staff.create(current_user, form.get("role", ""), form.get("username", ""),
                                  form.get("display_name", ""), form.get("org_code", ""),
                                  form.get("org_admin") == "on")
        except InvalidInput as exc:
            errors, values = exc.errors, exc.values
        else:
            return _show_once(base, issued, _("账户已创建"))
    args = request.args
    before = args.get("before", "")
    users = staff.search(current_user, args.get("role", ""), args.get("q", ""), before)
    return render_template("staff/users.html", users=users, base=base, errors=errors, values=values,
                           args=args, roles=[r for r in Role], is_admin=current_user.role is Role.ADMIN,
                           page_size=staff.PAGE), (422 if errors else 200)


def action(base: str, user_id: int, name: str) -> ResponseReturnValue:
    try:
        if name == "reset":
            return _show_once(base, staff.reset_password(current_user, user_id), _("密码已重置"))
        if name in ("disable", "enable"):
            target = staff.set_active(current_user, user_id, name == "enable")
            flash(_("账户 %(u)s 已%(a)s。", u=target.username, a=_("启用") if name == "enable" else _("停用")),
                  "success")
        elif name == "unlock":
            flash(_("账户 %(u)s 已解除锁定。", u=staff.unlock(current_user, user_id).username), "success")
        else:
            target = staff.set_org_admin(current_user, user_id, name == "org_admin_on")
            flash(_("账户 %(u)s 的机构管理员权限已更新。", u=target.username), "success")
    except InvalidInput as exc:
        flash(exc.message, "warning")
    return redirect(url_for(f"{base}_list"))


def _show_once(base: str, issued: staff.Issued, title: str) -> ResponseReturnValue:
    session["issued_password"] = {"username": issued.username, "password": issued.password,
                                  "title": title}
    return redirect(url_for(f"{base}_issued"))


def issued(base: str) -> ResponseReturnValue:
    shown = session.pop("issued_password", None)
    if shown is None:
        return redirect(url_for(f"{base}_list"))
    return (render_template("staff/issued.html", shown=shown, base=base), 200,
            {"Cache-Control": "no-store"})
