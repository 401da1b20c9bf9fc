"""Errors the services raise, in words a person may read (Chinese); no Flask here.

The web layer (:mod:`app.web.errors`) turns them into pages or JSON with their HTTP status:
:class:`NotFound` 404, :class:`Forbidden` 403, :class:`Conflict` 409, :class:`InvalidInput`
422 (shown next to the fields by the views that expect it), any other :class:`DomainError` 400.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a person may see; ``message`` is Chinese and safe to show."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class NotFound(DomainError):
    """What was asked for does not exist, or is not the actor's to see."""


class Forbidden(DomainError):
    """The actor may not do this."""


class Conflict(DomainError):
    """The state changed under the actor (e.g. the task was already handled)."""


class Unavailable(DomainError):
    """A service this step needs is missing on the server (a set-up fault, not the user's)."""


class InvalidInput(DomainError):
    """Form input was refused; ``errors`` maps field names to messages and ``values``
    holds what was entered, so the page can show it again."""

    def __init__(self, message: str, errors: dict[str, str] | None = None,
                 values: dict[str, Any] | None = None) -> None:
        super().__init__(message, errors)
        self.values = values or {}
