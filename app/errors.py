"""The services' domain errors under their old name (kept for the tests and scripts that
import them from here); they live in :mod:`app.services.errors`, and the web's handlers in
:mod:`app.web.errors`."""

from __future__ import annotations

from app.services.errors import Conflict
from app.services.errors import DomainError
from app.services.errors import Forbidden
from app.services.errors import InvalidInput
from app.services.errors import NotFound

__all__ = ["Conflict", "DomainError", "Forbidden", "InvalidInput", "NotFound"]
