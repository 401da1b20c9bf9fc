"""How the web shows errors: the services' domain errors and HTTP errors become Chinese pages
(or JSON for the scripts that ask for it); never a stack trace."""

from __future__ import annotations

from typing import Any

import sqlalchemy.exc
from flask import Flask
from flask import jsonify
from flask import render_template
from flask import request

from app.services.errors import Conflict
from app.services.errors import DomainError
from app.services.errors import Forbidden
from app.services.errors import InvalidInput
from app.services.errors import NotFound
from app.services.errors import Unavailable

STATUS: dict[type[DomainError], int] = {NotFound: 404, Forbidden: 403, Conflict: 409,
                                        InvalidInput: 422, Unavailable: 503}


def status_of(err: DomainError) -> int:
    """The HTTP status a domain error is answered with (400 for any other refusal)."""
    return next((code for kind, code in STATUS.items() if isinstance(err, kind)), 400)


def wants_json() -> bool:
    """The editor's and the import page's scripts ask for JSON answers, errors included."""
    return request.is_json or request.accept_mimetypes.best == "application/json"


def init_app(app: Flask) -> None:
    """Render errors as pages in Chinese; never a stack trace."""

    def page(code: int, title: str, message: str) -> Any:
        return render_template("error.html", code=code, title=title, message=message), code

    @app.errorhandler(DomainError)
    def domain_error(err: DomainError) -> Any:
        from app.extensions import db

        db.session.rollback()
        if wants_json():
            return jsonify({"message": err.message, "errors": err.errors}), status_of(err)
        return page(status_of(err), "无法完成操作", err.message)

    @app.errorhandler(403)
    def forbidden(_: Any) -> Any:
        return page(403, "无权访问", "您没有权限访问此页面。")

    @app.errorhandler(404)
    def not_found(_: Any) -> Any:
        return page(404, "页面不存在", "您访问的页面不存在或已被删除。")

    @app.errorhandler(405)
    def not_allowed(_: Any) -> Any:
        return page(405, "请求方式错误", "不支持此请求方式。")

    @app.errorhandler(413)
    def too_large(_: Any) -> Any:
        return page(413, "文件过大", "上传的文件过大，请压缩后重试。")

    @app.errorhandler(429)
    def too_many(_: Any) -> Any:
        return page(429, "操作过于频繁", "您的操作过于频繁，请稍后再试。")

    @app.errorhandler(400)
    def bad_request(err: Any) -> Any:
        desc = getattr(err, "description", "") or ""
        if "CSRF" in desc:
            return page(400, "页面已过期", "页面已过期或表单无效，请刷新页面后重新提交。")
        return page(400, "请求无效", "请求无效，请返回后重试。")

    # A safety net for values the database cannot hold (the views and forms check numbers and
    # references first): refused and rolled back, never a 500; the log keeps the cause.
    @app.errorhandler(OverflowError)
    @app.errorhandler(sqlalchemy.exc.DataError)
    def unusable_input(err: Exception) -> Any:
        from app.extensions import db

        db.session.rollback()
        app.logger.warning("refused unusable input on %s: %r", request.path, err, exc_info=err)
        return page(400, "请求无效", "提交的内容无效，请返回后重试。")

    @app.errorhandler(500)
    def server_error(_: Any) -> Any:
        from app.extensions import db

        db.session.rollback()
        app.logger.exception("unhandled error on %s", request.path)
        return page(500, "系统繁忙", "系统暂时无法处理您的请求，请稍后重试。您填写的内容未被保存。")
