"""Helpers shared by the blueprints: role checks, menus, reading posted forms."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from typing import TypeVar
from urllib.parse import urlsplit

from flask import abort
from flask import current_app
from flask import redirect
from flask import request
from flask import url_for
from flask_login import current_user
from flask_login import login_required
from itsdangerous import BadSignature
from itsdangerous import URLSafeSerializer

from app.config import captcha_required
from app.models import Role
from app.models import User
from app.services.accounts import captcha
from app.services.applications import staff_cases
from app.services.applications.attachments import Upload
from app.services.applications.forms import Submission
from app.services.records.validators import whole_number

F = TypeVar("F", bound=Callable[..., Any])
KEEP_SUFFIX = "__keep"
CAPTCHA_KEY = "captcha"  # the session's one live captcha: "expiry:nonce:HMAC of the answer"
TOKEN_FIELD = "submit_token"  # noqa: S105 - the form's idempotency token field, not a secret


def me() -> User:
    """The signed-in person, read through Flask-Login's request-local proxy once (a view
    passes the object to its services, which read it many times)."""
    user: User = current_user._get_current_object()
    return user


def reads_only(fn: F) -> F:
    """The page only reads (GET): its request reads in a transaction that takes no write lock
    on SQLite and sends no BEGIN/ROLLBACK on PostgreSQL (``database.begin_reading``); a write
    in it fails loudly. What the session itself stores (a 提示 shown, the last-seen time) is
    written after the page, as on every page. A page whose rows come through a server-side
    cursor reads them on a connection of its own (``database.reading``, as the 医师名册 does):
    PostgreSQL declares one only inside a transaction."""
    fn.reads_only = True  # type: ignore[attr-defined]  # read by app.web.sessions.open_session
    return fn


def role_required(*roles: Role) -> Callable[[F], F]:
    """Sign-in plus a coarse role check (the service checks scope again)."""

    def deco(fn: F) -> F:
        @wraps(fn)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return deco


def activated_physician(fn: F) -> F:
    """A physician whose account is activated (others go to 医师账户激活 first)."""

    @wraps(fn)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user.role is not Role.PHYSICIAN:
            abort(403)
        if not current_user.activated:
            return redirect(url_for("account.activate"))
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def captcha_ok() -> bool:
    """The posted 验证码 matches the image shown (each image is good for one try)."""
    if not captcha_required():
        return True
    from app.web.sessions import take

    return captcha.verify(take(CAPTCHA_KEY), request.form.get("captcha"))


def safe_next(target: str | None) -> str | None:
    """A ``next`` address only when it stays on this site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def recent_password(fn: F) -> F:
    """Security changes: the password entered within 5 minutes, else 确认密码 first."""

    @wraps(fn)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from app.web.sessions import recently_authenticated

        if not recently_authenticated():
            return redirect(url_for("account.reauth", next=request.full_path.rstrip("?")))
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def home_of(user: User) -> str:
    if user.role is Role.PHYSICIAN and not user.activated:
        return url_for("account.activate")
    return {
        Role.PHYSICIAN: url_for("physician.home"),
        Role.INSTITUTION: url_for("inbox.index"),
        Role.COMMISSION: url_for("inbox.index"),
        Role.ADMIN: url_for("admin.home"),
    }[user.role]


def int_arg(value: str | None) -> int | None:
    """A whole number from a form field or query string (ASCII digits within the database's
    integer range), else None — so "²" or 10**30 never reach int() or a query."""
    return whole_number(value)


def menu_for(user: User) -> list[tuple[str, str]]:
    """The left menu (label, url): the same for everyone with the same role, activation,
    organisation-admin flag and startable configured types, so its addresses are built once
    per process for each (and for each script root the app is mounted at)."""
    startable = bool(staff_cases.startable(user)) if user.role in (Role.INSTITUTION, Role.COMMISSION) else False
    key = (request.script_root, user.role, bool(user.activated), bool(user.org_admin), startable)
    held: dict[tuple[str, Role, bool, bool, bool], tuple[tuple[str, str], ...]] = (
        current_app.extensions.setdefault("medreg_menus", {}))  # per app: its own URL map
    menu = held.get(key)
    if menu is None:
        menu = tuple(_menu(user.role, bool(user.activated), bool(user.org_admin), startable))
        if len(held) < _MENUS_HELD:  # a few per mount point; never grown by what a client sends
            held[key] = menu
    return list(menu)


_MENUS_HELD = 64


def _menu(role: Role, activated: bool, org_admin: bool, startable: bool) -> list[tuple[str, str]]:
    """The menu of one kind of person, its addresses built for this request's mount point."""
    if role is Role.PHYSICIAN and not activated:
        # 指南 1.3 #2 (身份信息更新 / 安全设置) and the FAQ's 资格补【改】指南 menu
        return [("医师账户激活", url_for("account.activate")),
                ("身份信息更新", url_for("account.identity")),
                ("资格补【改】指南", url_for("account.guides")),
                ("安全设置", url_for("account.security"))]
    if role is Role.PHYSICIAN:
        return [("资格信息", url_for("physician.qualification")),
                ("执业信息", url_for("physician.practice")),
                ("考核信息", url_for("physician.assessment")),
                ("信息维护", url_for("physician.profile")),
                ("业务申请", url_for("physician.apply_list")),
                ("业务查询", url_for("physician.applications")),
                ("证书补办", url_for("physician.apply", process_id="reissue")),
                ("安全设置", url_for("account.security"))]
    if role is Role.INSTITUTION:
        menu: list[tuple[str, str]] = [("待办任务", url_for("inbox.index")),
                ("医师名册", url_for("institution.roster", kind="main")),
                ("激活码", url_for("institution.activation_codes")),
                ("科室维护", url_for("institution.departments_page")),
                ("定期考核", url_for("institution.assessments_page")),
                ("报告注销/备案", url_for("inbox.report_cancellation"))]
        if startable:
            menu.append(("发起业务", url_for("inbox.start_list")))
        if org_admin:
            menu.append(("工作人员账户", url_for("institution.staff_list")))
        return menu
    if role is Role.COMMISSION:
        menu = [("待办任务", url_for("inbox.index")),
                ("办理统计", url_for("inbox.dashboard")),
                ("依职权注销", url_for("inbox.report_cancellation")),
                ("行政处罚记录", url_for("inbox.find_registration"))]
        if startable:
            menu.append(("发起业务", url_for("inbox.start_list")))
        return menu
    return [("管理首页", url_for("admin.home")), ("流程管理", url_for("admin.processes")),
            ("流程实例", url_for("admin.instance_list")), ("数据导入", url_for("admin.import_list")),
            ("用户管理", url_for("admin.users_list")), ("工作日历", url_for("admin.calendar"))]


def menu_on(menu: list[tuple[str, str]], path: str) -> str | None:
    """The one menu item to light on the page at ``path``: its own item, else the item whose
    address is the longest whole-segment prefix (a task page lights 待办任务, 办理统计 only 办理统计)."""
    best: str | None = None
    best_len = -1
    for _label, href in menu:
        own = urlsplit(href).path
        base = own.rstrip("/")
        if (path == own or path.startswith(base + "/")) and len(base) > best_len:
            best, best_len = href, len(base)
    return best


def back_url() -> str:
    """返回上一页 without a script: the page the person came from when it is on this site
    (and not this very page), else their home."""
    ref = request.referrer
    if ref:
        parts = urlsplit(ref)
        if parts.netloc == request.host and parts.scheme in ("http", "https"):
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if safe_next(target) and target != request.full_path.rstrip("?"):
                return target
    if current_user.is_authenticated:
        return home_of(current_user)
    return url_for("auth.login")


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="kept-attachment")


def sign_kept(ref: dict[str, Any]) -> str:
    """A token that lets this user re-submit a file they uploaded in a failed attempt."""
    return _signer().dumps({"u": current_user.id, "r": ref})


def submission() -> Submission:
    """The posted form as a service :class:`Submission`."""
    fields = {k: v for k, v in request.form.lists() if k not in ("csrf_token", TOKEN_FIELD)
              and not k.endswith(KEEP_SUFFIX)}
    files = {}
    for name, storage in request.files.items():
        if storage and storage.filename:
            files[name] = Upload(storage.filename, storage.read())
    kept = {}
    for key, token in request.form.items():
        if key.endswith(KEEP_SUFFIX) and token:
            try:
                value = _signer().loads(token)
            except BadSignature:
                continue
            if value.get("u") == current_user.id:
                kept[key[: -len(KEEP_SUFFIX)]] = value["r"]
    return Submission(fields, files, kept)


def form_token() -> str | None:
    """The posted form's idempotency token (one per rendering of the form)."""
    return request.form.get(TOKEN_FIELD)


def upload_dir() -> str:
    return str(current_app.config["MEDREG_UPLOAD_DIR"])
