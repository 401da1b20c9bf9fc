"""Default configuration; ``instance/config.py`` and ``MEDREG_*`` variables override it.

Production is the default: development (the log mail backend and its /dev/outbox page, an
in-process rate-limit store, a built-in SECRET_KEY) must be chosen with ``MEDREG_ENV=development``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from flask import Config

DEV_SECRET_KEY = "dev-only-change-me"  # noqa: S105 - development only; production refuses it
DEV_AUDIT_KEY = "medreg-dev-audit-key"  # development only; production refuses it


class DefaultConfig:
    SQLALCHEMY_DATABASE_URI = ""  # set in create_app: instance/app.db
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}
    SECRET_KEY: str | None = None  # production: instance/config.py or the environment
    WTF_CSRF_TIME_LIMIT = None
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    MEDREG_SCHEDULER = False  # `make run` turns the in-process timer sweeper on
    MEDREG_FAST_HASH = False  # tests only: cheap argon2 parameters
    MEDREG_SWEEP_SECONDS = 1.0
    # the scheduler process replaces itself (giving the engine's memory back) after this long
    # with no timer fired
    MEDREG_SWEEPER_IDLE_SECONDS = 60.0
    # 办理统计's counts are a snapshot the scheduler takes this often (统计时间 on the page)
    MEDREG_STATS_SECONDS = 300.0
    # sent SMS and e-mail are deleted this many days after sending (站内消息 are kept)
    MEDREG_OUTBOX_RETENTION_DAYS = 30
    MEDREG_MAIL_BACKEND: str | None = None  # smtp; development defaults to log
    MEDREG_SMTP_HOST = "127.0.0.1"
    MEDREG_SMTP_PORT = 25
    MEDREG_MAIL_FROM = "noreply@medreg.local"
    # 技术支持 shown on the portal and the login page (each only when set)
    MEDREG_SUPPORT_EMAIL: str | None = None
    MEDREG_SUPPORT_PHONE: str | None = None
    MEDREG_UPLOAD_DIR = ""  # default: instance/uploads
    # the 宋体-style CJK font embedded in printed 申请审核表 (Debian fonts-arphic-uming; .ttc index)
    MEDREG_CJK_FONT = "/usr/share/fonts/truetype/arphic/uming.ttc"
    MEDREG_CJK_FONT_INDEX = 0  # AR PL UMing CN
    MEDREG_ENV = "production"  # "development" must be chosen explicitly (make run, tests)
    MEDREG_PROXY_HOPS = 0  # reverse proxies in front of the app whose X-Forwarded-* are trusted
    MEDREG_AUDIT_KEY: str | None = None  # HMAC key of the audit chain; never in the database
    MEDREG_SESSION_IDLE_MINUTES = 30
    MEDREG_SESSION_MAX_HOURS = 12
    # 行政许可法 第四十二条: extending a decision by ten working days with the head's approval
    # (DOMAIN [I]: off unless the province allows it)
    MEDREG_ALLOW_EXTENSION = False
    MEDREG_ASSESSMENT_FIRST_CYCLE = 2022  # first three-year 定期考核 cycle (医师法 第四十二条)
    # 连续两个考核周期未参加 (办法 第十八条) counts only cycles from this year on: set it to the
    # first cycle whose results are all in the system (None: MEDREG_ASSESSMENT_FIRST_CYCLE)
    MEDREG_MISSED_CYCLES_FROM: int | None = None
    # /healthz: the figures to a caller with `Authorization: Bearer <token>` (none: admins only)
    MEDREG_HEALTH_TOKEN: str | None = None
    # not ok when the newest timer sweep is older (0: this deployment runs no scheduler)
    MEDREG_HEALTH_SWEEP_MAX_SECONDS = 300.0
    MEDREG_HEALTH_OUTBOX_MAX_SECONDS = 1800.0  # not ok when a pending message is older (0: off)
    MEDREG_LOG_FORMAT: str | None = None  # json | text; production defaults to json
    # the app's own line per request (medreg.request); deploy/gunicorn.conf.py turns it off, as
    # gunicorn's access line carries the same fields (request id, status, duration, user id)
    MEDREG_REQUEST_LOG = True
    # PostgreSQL ends a statement of this process after this many seconds (deploy/gunicorn.conf.py
    # sets it for web workers to their timeout; None or 0: no limit — the `flask` commands, the
    # scheduler, migrations)
    MEDREG_STATEMENT_TIMEOUT_SECONDS: float | None = None
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_STORAGE_URI: str | None = None  # production: redis://host:6379/0 (shared by workers)


DEVELOPMENT_DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": DEV_SECRET_KEY,
    "MEDREG_MAIL_BACKEND": "log",
    "RATELIMIT_STORAGE_URI": "memory://",
    "MEDREG_AUDIT_KEY": DEV_AUDIT_KEY,
}
PRODUCTION_DEFAULTS: dict[str, Any] = {"MEDREG_MAIL_BACKEND": "smtp"}


def captcha_required() -> bool:
    """The image captcha is on unless MEDREG_CAPTCHA=off (automated tests only)."""
    return os.environ.get("MEDREG_CAPTCHA", "on").lower() != "off"


def is_development(config: Any) -> bool:
    return bool(config.get("MEDREG_ENV") == "development")


def apply_defaults(config: dict[str, Any]) -> None:
    """Fill the settings left unset with the defaults of the chosen environment."""
    env = config.get("MEDREG_ENV")
    if env not in ("production", "development"):
        raise RuntimeError(f"MEDREG_ENV must be production or development, not {env!r}")
    defaults = DEVELOPMENT_DEFAULTS if env == "development" else PRODUCTION_DEFAULTS
    for key, value in defaults.items():
        if not config.get(key):
            config[key] = value
    try:
        config["MEDREG_PROXY_HOPS"] = int(config.get("MEDREG_PROXY_HOPS") or 0)
    except ValueError:
        raise RuntimeError("MEDREG_PROXY_HOPS must be a whole number") from None


def check_production(config: dict[str, Any]) -> None:
    """Refuse to start a production app with settings meant for tests or development."""
    if is_development(config):
        return
    if not captcha_required():
        raise RuntimeError("MEDREG_CAPTCHA=off is for automated tests only; production refuses it")
    if config.get("SECRET_KEY") in (None, "", DEV_SECRET_KEY) or len(str(config["SECRET_KEY"])) < 16:
        raise RuntimeError("set SECRET_KEY (16 characters or more) in instance/config.py or the "
                           "environment; or choose MEDREG_ENV=development")
    if config.get("MEDREG_AUDIT_KEY") in (None, "", DEV_AUDIT_KEY):
        raise RuntimeError("set MEDREG_AUDIT_KEY (the audit chain's HMAC key) for production")
    if config.get("MEDREG_MAIL_BACKEND") != "smtp":
        raise RuntimeError("MEDREG_MAIL_BACKEND=log keeps messages on a development page; "
                           "production needs smtp")
    token = config.get("MEDREG_HEALTH_TOKEN")
    if token is not None and len(str(token)) < 16:
        raise RuntimeError("MEDREG_HEALTH_TOKEN must be 16 characters or more (or unset: "
                           "/healthz's figures for administrators only)")
    if config.get("MEDREG_FAST_HASH"):
        raise RuntimeError("MEDREG_FAST_HASH weakens password hashes; tests only")
    if not config.get("RATELIMIT_ENABLED"):
        raise RuntimeError("rate limits cannot be switched off in production")
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "")
    if not storage or storage.startswith("memory://"):
        raise RuntimeError("set RATELIMIT_STORAGE_URI to a store shared by every worker "
                           "(redis://host:6379/0); memory:// counts per process")


_WORDS = {"true": True, "false": False, "on": True, "off": False, "yes": True, "no": False}
# settings read from the environment without the MEDREG_ prefix, as deployments already set them
PLAIN_NAMES = {"DATABASE_URL": "SQLALCHEMY_DATABASE_URI", "SECRET_KEY": "SECRET_KEY",
               "RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
               "RATELIMIT_KEY_PREFIX": "RATELIMIT_KEY_PREFIX"}


def _loads(raw: str) -> Any:
    """A value as JSON (3 -> int, true -> bool), on/off/yes/no as bools, else the text itself."""
    word = _WORDS.get(raw.strip().lower())
    if word is not None:
        return word
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _typed(name: str, default: Any, raw: Any) -> Any:
    """Keep a setting's declared type: text settings stay text (a numeric SECRET_KEY too)."""
    kind = _declared_type(name, default)
    if kind is str:
        return raw if isinstance(raw, str) else json.dumps(raw)
    value = _loads(raw) if isinstance(raw, str) else raw
    if kind is bool:
        if not isinstance(value, bool):
            raise RuntimeError(f"{name} must be true or false (on/off), not {raw!r}")
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RuntimeError(f"{name} must be a whole number, not {raw!r}")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RuntimeError(f"{name} must be a number, not {raw!r}")
        value = float(value)
    return value


def _declared_type(name: str, default: Any) -> type | None:
    if default is not None and type(default) in (str, bool, int, float):
        return type(default)
    hint = str(DefaultConfig.__annotations__.get(name, ""))
    for kind in (str, int, float, bool):
        if hint.startswith(kind.__name__ + " |"):
            return kind
    return None


def from_environment(current: Mapping[str, Any]) -> dict[str, Any]:
    """The settings the environment overrides, read by Flask's ``from_prefixed_env("MEDREG")``.

    ``MEDREG_<NAME>`` sets our own setting ``MEDREG_<NAME>`` (``MEDREG_SCHEDULER=off``) or, when
    only ``NAME`` is a known Flask/extension setting, that one (``MEDREG_SECRET_KEY``,
    ``MEDREG_SQLALCHEMY_ENGINE_OPTIONS__pool_size=20``). ``MEDREG_RATELIMIT=off`` switches rate
    limits off; ``DATABASE_URL``, ``SECRET_KEY``, ``RATELIMIT_STORAGE_URI`` and
    ``RATELIMIT_KEY_PREFIX`` are read as they are. Each value keeps its setting's type."""
    env = os.environ
    parsed = Config("")
    parsed.from_prefixed_env("MEDREG", loads=str)  # typed below, by each setting's type
    out: dict[str, Any] = {}
    for plain, setting in PLAIN_NAMES.items():
        if env.get(plain):
            out[setting] = env[plain]
    for key, raw in parsed.items():
        if key == "RATELIMIT":  # off: e.g. a load generator that is one client address
            out["RATELIMIT_ENABLED"] = _typed("RATELIMIT_ENABLED", True, raw)
            continue
        name = key if key in current and f"MEDREG_{key}" not in current else f"MEDREG_{key}"
        if isinstance(raw, dict):  # NAME__part: merged into the setting's dict
            merged = dict(current.get(name) or {})
            merged.update({k: _loads(v) if isinstance(v, str) else v for k, v in raw.items()})
            out[name] = merged
        else:
            out[name] = _typed(name, current.get(name), raw)
    return out
