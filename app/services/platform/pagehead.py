"""What a page needs besides its own data, read with the session in one statement.

The session's statement (app.services.accounts.websessions) carries more columns: the
person's unread 消息 count (the header's 消息（N）), the stamp of the configured business types
(新建流程; a counter database triggers move on every change of ``configured_type``, migration
0035_reference_stamp) and the publication stamp — the id of the
newest published process version and how many versions are published. Published versions are
only ever added, so the stamp changes with every publication, also when two publications commit
out of their ids' order (PostgreSQL hands out ids before the commit): a process keeps the set it
read for a stamp (app.services.backoffice.definitions.newest_published) and reads it again
only when another process has published since.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from app.models import ProcessDefinition
from app.models import ReferenceStamp

_PUBLISHED = ProcessDefinition.published_at.is_not(None)
PUBLISHED_NEWEST = select(func.max(ProcessDefinition.id)).where(_PUBLISHED).scalar_subquery()
PUBLISHED_COUNT = select(func.count()).select_from(ProcessDefinition).where(_PUBLISHED).scalar_subquery()

TYPES_STAMP = select(ReferenceStamp.version).where(
    ReferenceStamp.name == "configured_type").scalar_subquery()

Stamp = tuple[int, int]  # (the newest published version's id or 0, how many are published)


def remember_stamp(newest: int | None, count: int | None) -> None:
    """The publication stamp read with this request's session."""
    from flask import has_request_context
    from flask import request

    if has_request_context():
        request.medreg_published_stamp = (int(newest or 0), int(count or 0))  # type: ignore[attr-defined]


def published_stamp() -> Stamp | None:
    """This request's publication stamp, None when it was not read."""
    from flask import has_request_context
    from flask import request

    if not has_request_context():
        return None
    stamp: Any = getattr(request, "medreg_published_stamp", None)
    return None if stamp is None else (int(stamp[0]), int(stamp[1]))


def forget_stamp() -> None:
    """This request published: its stamp no longer names what is published."""
    from flask import has_request_context
    from flask import request

    if has_request_context():
        request.medreg_published_stamp = None  # type: ignore[attr-defined]


def remember_types_stamp(version: int | None) -> None:
    """The configured types' stamp read with this request's session (None: no stamp row)."""
    from flask import has_request_context
    from flask import request

    if has_request_context():
        request.medreg_types_stamp = version  # type: ignore[attr-defined]


def types_stamp() -> int | None:
    """This request's configured types' stamp; None when it was not read (no session, a
    command, the scheduler) or this request changed the types."""
    from flask import has_request_context
    from flask import request

    if not has_request_context():
        return None
    stamp: Any = getattr(request, "medreg_types_stamp", None)
    return None if stamp is None else int(stamp)
