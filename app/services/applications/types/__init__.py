"""Business types, one module each: who starts it, why a physician may not apply now, how its
start data is prepared (the fields a correction keeps are the diagram's ``medreg:locked``; see
:mod:`app.workflow.flags`). Registered like service operations
(:func:`app.services.applications.operations.operation`); the display name is the published
definition's.

Adding a type = its diagram (bpmn/), its forms (forms/), a module here, its scenarios; or, from
the browser (新建流程), a row of ``configured_type`` read by the one data-driven module
:mod:`.configured` (refusal rules and operations chosen from lists, no code).
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any
from typing import Literal

if TYPE_CHECKING:
    from app.models import ProcessInstance
    from app.models import User
    from app.services.applications.prepare import Prepared

Kind = Literal["application", "maintenance", "case"]
Starter = Literal["physician", "institution", "commission", "system"]
Refusal = Callable[["User"], "str | None"]
Notes = Callable[["User"], list[str]]
Blocker = Callable[["ProcessInstance"], "str | None"]
Hook = Callable[["ProcessInstance", str], None]
Preparer = Callable[["User", str, dict[str, Any], dict[str, Any], "ProcessInstance | None",
                     "dict[str, str] | None"], "Prepared"]


@dataclass(frozen=True)
class BusinessType:
    process_id: str
    kind: Kind
    starters: tuple[Starter, ...]
    order: int  # place on the 业务申请 page
    refusal: Refusal | None = None  # physician types: why not now (None: may apply)
    prepare: Preparer | None = None  # validates and prepares the start data
    refusal_in_prepare: bool = False  # prepare decides eligibility itself (needs the form)
    institution_from_instance: bool = False  # a correction shows the instance's institution
    conflict_group: str | None = None  # types that may not be open together share one
    notes: Notes | None = None  # what the empty form tells this physician first (e.g. extra materials)
    # DOMAIN §4.0 "no other open application of a conflicting type": the types that may not be
    # open together with this one for the same physician (read both ways: see ``conflicting``)
    conflicts: frozenset[str] = frozenset()
    # statuses the registration must still have for the decision's effect to be possible
    # (None: the type creates a registration); ``blocker`` for anything else
    needs_status: tuple[str, ...] | None = None
    blocker: Blocker | None = None
    on_start: Hook | None = None  # after submission (second argument: "submitted")
    on_close: Hook | None = None  # when the application ends (second argument: its outcome)
    info: str | None = None  # told to the physician above the application form
    configured: bool = False  # created in the browser (types/configured.py); shown once published
    # who may apply, as 业务说明 tells it (the refusal is the check; conflicts are added there)
    conditions: tuple[str, ...] = ()

    def open_key(self, subject_user_id: int) -> str:
        """The key of an open application of this type (see ``ProcessInstance.open_key``)."""
        return f"{self.conflict_group or self.process_id}:{subject_user_id}"


_REGISTRY: dict[str, BusinessType] = {}
_loaded = False
_lock = threading.Lock()


# types that all conflict with one another (a clique of the matrix) share one open_key, so
# the database holds even two submissions at the same moment to one of them
REGISTRATION_STATUS = "registration_status"


def register(bt: BusinessType) -> BusinessType:
    """Add a type (its module calls this when imported)."""
    _REGISTRY[bt.process_id] = bt
    return bt


def replace_configured(wanted: dict[str, BusinessType]) -> None:
    """Make the configured types of the registry exactly ``wanted`` (readers in other threads
    keep the dictionary they hold: a new one replaces it)."""
    global _REGISTRY
    with _lock:
        kept = {k: v for k, v in _REGISTRY.items() if not v.configured}
        kept.update({k: v for k, v in wanted.items() if k not in kept})
        _REGISTRY = kept


def _load() -> None:
    """Import every type module once (threads of a server may ask at the same moment), then
    bring the configured types in line with the database (once per request)."""
    _import_modules()
    from app.services.applications.types import configured

    configured.sync()


def _import_modules() -> None:
    global _loaded
    if not _loaded:
        with _lock:
            if not _loaded:
                for info in pkgutil.iter_modules(__path__):
                    importlib.import_module(f"{__name__}.{info.name}")
                _loaded = True


def built_in(process_id: str) -> bool:
    """Whether ``process_id`` is a type defined in code (a configured type never takes its id);
    reads no table."""
    _import_modules()
    bt = _REGISTRY.get(process_id)
    return bt is not None and not bt.configured


def get(process_id: str) -> BusinessType | None:
    _load()
    return _REGISTRY.get(process_id)


def of_kind(kind: Kind) -> list[BusinessType]:
    """The registered types of one kind, in page order."""
    _load()
    return sorted((bt for bt in _REGISTRY.values() if bt.kind == kind), key=lambda b: b.order)


def conflicting(a: str, b: str) -> bool:
    """Whether applications of types ``a`` and ``b`` may not be open together (the matrix is
    symmetric: either side declaring it is enough)."""
    _load()
    ta, tb = _REGISTRY.get(a), _REGISTRY.get(b)
    return bool((ta is not None and b in ta.conflicts) or (tb is not None and a in tb.conflicts))


def conflicts_of(process_id: str) -> frozenset[str]:
    """Every type that may not be open together with ``process_id``."""
    _load()
    return frozenset(p for p in _REGISTRY if p != process_id and conflicting(process_id, p))


def all_types() -> list[BusinessType]:
    _load()
    return list(_REGISTRY.values())
