"""信息修改 (信息维护): one pending change at a time, reviewed by the main institution."""

from __future__ import annotations

from app.services.applications.prepare import prepare_maintenance
from app.services.applications.types import BusinessType
from app.services.applications.types import register

register(BusinessType("info_change", "maintenance", ("physician",), 2, prepare=prepare_maintenance))
