"""SQLAlchemy models, one aggregate per module."""

from __future__ import annotations

from app.models.audit import AuditEvent
from app.models.audit import AuditHead
from app.models.calendar import CalendarDay
from app.models.calendar import CalendarYear
from app.models.catalogue import CatalogueItem
from app.models.catalogue import ReferenceStamp
from app.models.codes import ActivationCode
from app.models.codes import AttemptCounter
from app.models.codes import VerificationCode
from app.models.configured import ConfiguredType
from app.models.files import Attachment
from app.models.idempotency import SubmissionToken
from app.models.imports import ImportJob
from app.models.imports import ImportStatus
from app.models.organisation import Authority
from app.models.organisation import Department
from app.models.organisation import Institution
from app.models.outbox import OutboxMessage
from app.models.outbox import OutboxStatus
from app.models.physician import Assessment
from app.models.physician import FilingStatus
from app.models.physician import MultiFiling
from app.models.physician import Penalty
from app.models.physician import Qualification
from app.models.physician import Registration
from app.models.physician import RegistrationStatus
from app.models.process import CaseRun
from app.models.process import HumanTask
from app.models.process import ProcessDefinition
from app.models.process import ProcessDraft
from app.models.process import ProcessInstance
from app.models.process import ScopeKind
from app.models.process import TaskComment
from app.models.process import TaskStatus
from app.models.profile import PhysicianProfile
from app.models.scheduler import SchedulerBeat
from app.models.stats import StatsSnapshot
from app.models.stats import TaskCount
from app.models.user import Role
from app.models.user import User
from app.models.user import canonical_username
from app.models.websession import WebSession

__all__ = [
    "ActivationCode", "Assessment", "AttemptCounter", "Attachment",
    "AuditEvent", "AuditHead", "Authority", "CalendarDay", "CalendarYear", "CaseRun",
    "CatalogueItem", "ConfiguredType",
    "Department", "HumanTask", "ImportJob", "Institution", "MultiFiling", "OutboxMessage", "Penalty",
    "PhysicianProfile", "ProcessDefinition", "ProcessDraft", "ProcessInstance", "Qualification",
    "ReferenceStamp", "Registration", "Role", "SchedulerBeat", "StatsSnapshot", "SubmissionToken", "TaskComment",
    "TaskCount", "User",
    "FilingStatus", "ImportStatus", "OutboxStatus", "RegistrationStatus", "ScopeKind", "TaskStatus",
    "VerificationCode", "WebSession", "canonical_username",
]
