"""Default configuration; ``instance/config.py`` and ``MEDREG_*`` variables override it."""

from __future__ import annotations

import os
from typing import Any


class DefaultConfig:
    SQLALCHEMY_DATABASE_URI = ""  # set in create_app: instance/app.db
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}
    SECRET_KEY = "dev-only-change-me"  # noqa: S105 - instance/config.py sets the real one
    WTF_CSRF_TIME_LIMIT = None
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    MEDREG_SCHEDULER = False  # `make run` turns the in-process timer sweeper on
    MEDREG_FAST_HASH = False  # tests only: cheap argon2 parameters
    MEDREG_SWEEP_SECONDS = 1.0
    MEDREG_MAIL_BACKEND = "log"  # log / smtp
    MEDREG_SMTP_HOST = "127.0.0.1"
    MEDREG_SMTP_PORT = 25
    MEDREG_MAIL_FROM = "noreply@medreg.local"
    MEDREG_UPLOAD_DIR = ""  # default: instance/uploads
    MEDREG_ENV = "development"  # "production" refuses unsafe settings at start-up
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"  # production: a shared store, e.g. redis://


def captcha_required() -> bool:
    """The image captcha is on unless MEDREG_CAPTCHA=off (automated tests only)."""
    return os.environ.get("MEDREG_CAPTCHA", "on").lower() != "off"


def check_production(config: dict[str, Any]) -> None:
    """Refuse to start a production app with settings meant for tests or development."""
    if config.get("MEDREG_ENV") != "production":
        return
    if not captcha_required():
        raise RuntimeError("MEDREG_CAPTCHA=off is for automated tests only; production refuses it")
    if config.get("SECRET_KEY") in ("", DefaultConfig.SECRET_KEY):
        raise RuntimeError("set SECRET_KEY in instance/config.py for production")
    if config.get("MEDREG_MAIL_BACKEND", "log") == "log":
        raise RuntimeError("MEDREG_MAIL_BACKEND=log keeps messages on a public page; "
                           "production needs smtp")


def from_environment() -> dict[str, Any]:
    """``MEDREG_*`` (and ``SECRET_KEY``/``DATABASE_URL``) settings from the environment."""
    out: dict[str, Any] = {}
    for key, value in os.environ.items():
        if key.startswith("MEDREG_"):
            out[key] = {"true": True, "false": False, "on": True, "off": False}.get(
                value.lower(), value)
    if "MEDREG_RATELIMIT" in out:  # off: e.g. a load generator that is one client address
        out["RATELIMIT_ENABLED"] = bool(out.pop("MEDREG_RATELIMIT"))
    if os.environ.get("DATABASE_URL"):
        out["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if os.environ.get("SECRET_KEY"):
        out["SECRET_KEY"] = os.environ["SECRET_KEY"]
    return out
