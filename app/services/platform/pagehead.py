"""What a page needs besides its own data, read with the session in one statement.

The session's statement (app.services.accounts.websessions) carries two more columns: the
person's unread 消息 count (the header's 消息（N）) and the publication stamp — the id of the
newest published process version. Published versions are only ever added, each with a new,
larger id, so the stamp names the whole set of newest published versions: a process keeps the
set it read for a stamp (app.services.backoffice.definitions.newest_published) and reads it
again only when another process has published since.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from app.models import ProcessDefinition

PUBLISHED_STAMP = (select(func.max(ProcessDefinition.id))
                   .where(ProcessDefinition.published_at.is_not(None)).scalar_subquery())


def remember_stamp(stamp: int | None) -> None:
    """The publication stamp read with this request's session."""
    from flask import has_request_context
    from flask import request

    if has_request_context():
        request.medreg_published_stamp = stamp if stamp is not None else 0  # type: ignore[attr-defined]


def published_stamp() -> int | None:
    """This request's publication stamp (0: nothing published), None when it was not read."""
    from flask import has_request_context
    from flask import request

    if not has_request_context():
        return None
    stamp: Any = getattr(request, "medreg_published_stamp", None)
    return None if stamp is None else int(stamp)


def forget_stamp() -> None:
    """This request published: its stamp no longer names what is published."""
    from flask import has_request_context
    from flask import request

    if has_request_context():
        request.medreg_published_stamp = None  # type: ignore[attr-defined]
