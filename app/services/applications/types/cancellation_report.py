"""机构报告注销/备案: the main institution reports, within 30 days of the event, a 注销 event
(医师法 第十七条) or a 调离、退休、退职、被辞退或开除 (备案, 医师执业注册管理办法 第十九条).

Reason ``left`` is a 备案 report: when approved the registration becomes 备案 (FILED) since the
event date, not 注销. A report made more than 30 days after the event is accepted but flagged
("逾期报告 N 天") on the commission's task page and dashboard.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Any

from app.services.applications.types import BusinessType
from app.services.applications.types import register

REPORT_DAYS = 30  # 办法 第十九条 / 医师法 第十七条: within 30 days
FILING_REASONS = frozenset({"left"})  # 调离、退休、退职、被辞退或开除 -> 备案


def is_filing(application: dict[str, Any]) -> bool:
    """The report is a 备案 (departure), not a 注销."""
    return application.get("reason") in FILING_REASONS


def late_days(application: dict[str, Any], reported_on: date) -> int:
    """Days a report made on ``reported_on`` came after the 30-day limit (0: in time)."""
    event = application.get("event_date")
    if not isinstance(event, str):
        return 0
    try:
        happened = date.fromisoformat(event)
    except ValueError:
        return 0
    return max(0, (reported_on - happened).days - REPORT_DAYS)


DUTY_NOTE = ("医疗机构应当自事由发生之日起三十日内报告准予注册的卫生健康主管部门"
             "（《医师法》第十七条）；超过三十日的仍予受理，并标注逾期天数。")


def late_notice(event_date: object, today: date) -> str:
    """The warning shown next to 事由发生日期 when a report made today is late (it does not
    block the report), or an empty string."""
    days = late_days({"event_date": event_date}, today)
    return f"已超过 30 日报告期限 {days} 天" if days else ""


def reported_late_days(process_id: str, application: dict[str, Any], reported_at: datetime) -> int:
    """How late an institution's report (this type only) was, counted in Beijing days."""
    from app.services.engine.clock import CST

    if process_id != "cancellation_report":
        return 0
    return late_days(application, reported_at.astimezone(CST).date())


register(BusinessType("cancellation_report", "case", ("institution",), 1,
                      needs_status=("ACTIVE", "PENDING_CHANGE", "SUSPENDED", "FILED"),
                      # while a 注销 is under way the physician applies for nothing on top of it
                      conflicts=frozenset({"cancellation", "change", "upgrade", "to_military", "filing",
                                           "filing_cancel", "reissue", "legacy_cancel"})))
