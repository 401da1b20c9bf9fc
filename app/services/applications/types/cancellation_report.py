"""机构报告注销: the main institution reports a 注销 event (its 30-day duty, 医师法 第十八条)."""

from __future__ import annotations

from app.services.applications.types import BusinessType
from app.services.applications.types import register

register(BusinessType("cancellation_report", "case", ("institution",), 1,
                      needs_status=("ACTIVE", "PENDING_CHANGE", "SUSPENDED", "FILED"),
                      # while a 注销 is under way the physician applies for nothing on top of it
                      conflicts=frozenset({"cancellation", "change", "upgrade", "to_military", "filing",
                                           "filing_cancel", "reissue", "legacy_cancel"})))
