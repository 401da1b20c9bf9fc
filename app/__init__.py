"""医师电子化注册信息系统: the Flask application factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:  # imported in _configured: gunicorn's master reads app.log without Flask
    from flask import Flask


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: config -> extensions -> blueprints -> cli -> error handlers."""
    app = _configured(test_config)
    app.extensions = _Extensions(app)
    if app.config["MEDREG_PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["MEDREG_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    from app import cli
    from app import log
    from app.extensions import LOCALE
    from app.extensions import babel
    from app.extensions import csrf
    from app.extensions import limiter
    from app.extensions import login_manager
    from app.web import errors
    from app.web import register_blueprints
    log.configure(app)

    _init_database(app)
    app.cli.add_command(cli.MigrateCommands(app))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=lambda: LOCALE)
    login_manager.init_app(app)
    register_blueprints(app)
    errors.init_app(app)
    cli.init_app(app)

    if app.config["MEDREG_SCHEDULER"] and not app.config.get("TESTING_NO_SCHEDULER"):
        from app.services.platform import scheduler
        scheduler.start(app)
    return app


class _Extensions(dict[str, Any]):
    """``app.extensions`` that sets Flask-Migrate up when it is first asked for (``flask db``,
    ``flask_migrate.upgrade()``, migrations/env.py): a web worker never imports Alembic."""

    def __init__(self, app: Flask) -> None:
        super().__init__()
        self._app = app

    def __missing__(self, key: str) -> Any:
        if key != "migrate":
            raise KeyError(key)
        from app.extensions import db
        from app.extensions import migrate

        migrate.init_app(self._app, db, directory=_migrations_directory())
        return dict.__getitem__(self, key)


def create_scheduler_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """The scheduler process's app: config, the database, Babel and the ``scheduler`` command —
    no blueprints, templates, forms, rate limiter or Alembic (``python -m app.sweeper``)."""
    app = _configured(test_config)
    from app import log
    from app import sweeper
    from app.extensions import LOCALE
    from app.extensions import babel

    log.configure(app)
    _init_database(app)
    babel.init_app(app, locale_selector=lambda: LOCALE)  # services' messages are gettext'd
    app.cli.add_command(sweeper.scheduler)
    return app


def _configured(test_config: Mapping[str, Any] | None) -> Flask:
    """A Flask app with its configuration read and checked (instance/config.py and the
    environment, or ``test_config``)."""
    from flask import Flask

    from app import config as config_module

    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config_module.DefaultConfig)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "app.db")
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_mapping(config_module.from_environment(app.config))
    else:
        app.config.from_mapping(test_config)
    config_module.apply_defaults(app.config)
    config_module.check_production(app.config)
    if not app.config["MEDREG_UPLOAD_DIR"]:
        app.config["MEDREG_UPLOAD_DIR"] = os.path.join(app.instance_path, "uploads")
    return app


def _init_database(app: Flask) -> None:
    from app.extensions import db
    from app.models.base import compact_json
    from app.services.platform import database

    options = {"json_serializer": compact_json, **(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})}
    from sqlalchemy.engine import make_url

    if make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database not in (None, "", ":memory:"):
        # the connection used last serves the next request (its server process, its page cache
        # and the statements psycopg prepared on it are warm) instead of the one idle longest
        options.setdefault("pool_use_lifo", True)
    if str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        # a connection left at the bottom of that stack is replaced once it is half an hour old
        # (a firewall or PgBouncer may have closed it while it idled); no ping per request
        options.setdefault("pool_recycle", 1800)
    limit = app.config.get("MEDREG_STATEMENT_TIMEOUT_SECONDS")
    if limit and str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        # libpq ``options``: added to those the URL or the engine options already give
        # (e.g. ``?options=-csearch_path%3Dx``), which the connect argument would replace
        connect = dict(options.get("connect_args") or {})
        given = connect.get("options") or make_url(app.config["SQLALCHEMY_DATABASE_URI"]).query.get("options")
        given = " ".join(given) if isinstance(given, tuple) else (given or "")
        connect["options"] = f"{given} -c statement_timeout={round(float(limit) * 1000)}".strip()
        options["connect_args"] = connect
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    with app.app_context():
        database.configure_engine(db.engine)


def _migrations_directory() -> str:
    """Alembic's folder: shipped in the wheel as package data, or the checkout's migrations/."""
    from app import resources
    return str(resources.base() / "migrations")
