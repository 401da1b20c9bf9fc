"""照片更新 (信息维护): reviewed by the main institution of the active registration."""

from __future__ import annotations

from app.services.applications.prepare import prepare_maintenance
from app.services.applications.types import BusinessType
from app.services.applications.types import register

register(BusinessType("photo", "maintenance", ("physician",), 1, prepare=prepare_maintenance))
