"""变更 (DOMAIN §4.1 type 5): a new institution, department or 执业范围 of a registration."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from app.models import ProcessInstance
from app.models import User
from app.services.applications import eligibility
from app.services.applications import forms
from app.services.applications.prepare import Prepared
from app.services.applications.prepare import form_options
from app.services.applications.prepare import placement_errors
from app.services.applications.prepare import registration_and_target
from app.services.applications.types import BusinessType
from app.services.applications.types import register


def prepare(actor: User, process_id: str, schema: dict[str, Any], payload: dict[str, Any],
            instance: ProcessInstance | None, errors: dict[str, str] | None) -> Prepared:
    data = dict(payload)
    extra = dict(errors or {})
    reg, target = registration_and_target(actor, data, instance, extra)
    if reg is not None:
        extra.update(placement_errors(target, data, reg.category))
    scopes = data.get("practice_scopes")
    if (reg is not None and target is not None and target.id == reg.institution_id
            and isinstance(scopes, list) and set(scopes) == set(reg.scopes)
            and data.get("department_id") == reg.department_id):
        extra["institution_id"] = _("您没有变更任何执业注册事项")
    options = form_options(actor, target.id if target else None)
    clean = forms.validate(schema, data, options, extra)
    assert reg is not None and target is not None
    return Prepared(clean, reg.institution_id, target.authority_id, reg.id, target.id)


register(BusinessType("change", "application", ("physician",), 5,
                      refusal=lambda actor: eligibility.active_refusal(actor, "change", _("变更")),
                      prepare=prepare))
