"""军队变更入 (DOMAIN §4.1 type 3): registered like 注册, coming from the military."""

from __future__ import annotations

from app.services.applications.types import BusinessType
from app.services.applications.types import register
from app.services.applications.types.registration import prepare
from app.services.applications.types.registration import refusal

register(BusinessType("military_in", "application", ("physician",), 3,
                      refusal=lambda actor: refusal(actor, None, "military_in"), prepare=prepare,
                      refusal_in_prepare=True, institution_from_instance=True,
                      conflicts=frozenset({"registration"}),
                      conditions=("由军队医疗机构转业、退役到地方执业。",
                                  "已持有地方医师资格证书（军队资格须先换发）。",
                                  "拟执业地点（省）没有有效或变更中的执业注册。")))
