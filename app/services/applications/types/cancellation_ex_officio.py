"""依职权注销: the commission cancels a registration ex officio, or a scheduled rule raises it."""

from __future__ import annotations

from app.services.applications.types import BusinessType
from app.services.applications.types import register

register(BusinessType("cancellation_ex_officio", "case", ("commission", "system"), 2,
                      needs_status=("ACTIVE", "PENDING_CHANGE", "SUSPENDED", "FILED"),
                      conflicts=frozenset({"cancellation", "change", "upgrade", "to_military", "filing",
                                           "filing_cancel", "reissue", "legacy_cancel"})))
