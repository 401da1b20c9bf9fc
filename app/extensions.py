"""Flask extensions, created unbound and bound in :func:`app.create_app`.

Only the database is built on import. The web's extensions (login, CSRF, Babel, the rate
limiter, Alembic) are built on first use, so a process that never serves a page — the
scheduler — does not import them (``docs/performance.md``, Memory).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler
    from flask_babel import Babel
    from flask_limiter import Limiter
    from flask_login import LoginManager
    from flask_migrate import Migrate
    from flask_wtf import CSRFProtect

    migrate: Migrate
    login_manager: LoginManager
    csrf: CSRFProtect
    babel: Babel
    limiter: Limiter


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
# The one locale, as CLDR names it: Babel finds "zh_CN" only through its likely-subtag tables
# (global.dat, 2 MiB held by every process from its first gettext on); this is what "zh_CN"
# resolves to. There is no message catalogue (the msgids are the Chinese text).
LOCALE = "zh_Hans_CN"
scheduler_holder: dict[str, BackgroundScheduler] = {}


def _build(name: str) -> Any:
    """One web extension, imported and created on first use."""
    if name == "migrate":
        from flask_migrate import Migrate
        return Migrate()
    if name == "login_manager":
        from flask_login import LoginManager
        return LoginManager()
    if name == "csrf":
        from flask_wtf import CSRFProtect
        return CSRFProtect()
    if name == "babel":
        from flask_babel import Babel
        return Babel()
    if name == "limiter":
        # The store comes from RATELIMIT_STORAGE_URI (shared Redis in production), never fixed here.
        from flask_limiter import Limiter
        from flask_limiter.util import get_remote_address
        return Limiter(get_remote_address)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __getattr__(name: str) -> Any:
    value = _build(name)
    globals()[name] = value  # one instance per process, like a module-level global
    return value
