"""证书补办: a lost or damaged certificate is issued again with the same 执业证书编码."""

from __future__ import annotations

from flask_babel import gettext as _

from app.services.applications import eligibility
from app.services.applications.prepare import prepare_simple
from app.services.applications.types import BusinessType
from app.services.applications.types import register

register(BusinessType("reissue", "application", ("physician",), 10,
                      refusal=lambda actor: eligibility.active_refusal(actor, "reissue", _("证书补办")),
                      prepare=prepare_simple, needs_status=("ACTIVE", "SUSPENDED"),
                      # the certificate reissued must still be the one in force
                      conflicts=frozenset({"change", "cancellation", "upgrade"}),
                      conditions=("持有有效的执业注册，执业证书遗失、损坏或信息印制错误。",
                                  "向原发证机关申请；补发的证书执业证书编码不变，损坏的原证书须交回。")))
