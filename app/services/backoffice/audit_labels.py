"""The audit trail in words: every action the code records (``audit.record``) and its details
as Chinese text for the administrator's pages, never a raw code like ``application.submit``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.models import AuditEvent
from app.models.physician import PENALTY_KINDS
from app.services.applications import eligibility
from app.services.applications.operations import OUTCOMES

ACTIONS: dict[str, str] = {
    # applications and cases
    "application.submit": "提交申请",
    "case.start": "发起业务",
    "application.withdraw": "撤回申请",
    "application.accepted": "受理",
    "application.extended": "延长办理期限",
    "application.comment": "添加留言",
    "instance.suspended": "暂停办理",
    "instance.resumed": "恢复办理",
    "instance.retried": "重试失败的步骤",
    "instance.migrated": "迁移到新版本流程",
    "clock.recounted": "重新计算办理期限",
    "clock.reminder": "办理时限提醒",
    "clock.overdue": "办理超期",
    "task.reminder": "待办提醒",
    "task.claim": "认领任务",
    "task.unclaim": "取消认领",
    # registrations and records
    "registration.create": "准予注册",
    "registration.cancel": "注销注册",
    "registration.file": "备案",
    "registration.upgrade": "执业类别升级",
    "registration.to_military": "转入军队",
    "registration.change": "变更注册",
    "registration.legacy_site_removed": "注销原执业地点",
    "registration.reissue": "证书补办",
    "registration.department": "修改科室",
    "registration.suspension_ended": "暂停执业期满",
    "registration.assessment_suspension": "定期考核不合格，暂停执业",
    "registration.assessment_suspension_corrected": "更正定期考核暂停执业",
    "filing.create": "多执业机构备案",
    "filing.cancel": "取消备案",
    "filing.expired": "备案到期",
    "profile.photo": "更换照片",
    "profile.change": "修改个人信息",
    "assessment.enter": "录入定期考核结果",
    "roster.mobile": "登记医师手机号",
    "activation_code.issue": "生成账户激活码",
    "activation_code.resend": "激活码短信发送",
    "department.saved": "保存科室",
    "department.enabled": "启用科室",
    "department.disabled": "停用科室",
    "import.created": "创建数据导入",
    "import.finished": "数据导入完成",
    "calendar.enter_year": "录入工作日历",
    # process definitions
    "process.created": "新建流程",
    "process.case_saved": "保存测试用例",
    "process.draft_discarded": "放弃草稿",
    "process.published": "发布流程",
    "process.rolled_back": "回退流程版本",
    "process.cases_started": "运行测试用例",
    "process.cases": "测试用例运行完成",
    # accounts
    "account.throttled": "登录尝试过多",
    "account.reauthenticated": "确认密码",
    "account.login": "登录",
    "account.created": "创建账户",
    "account.enabled": "启用账户",
    "account.disabled": "停用账户",
    "account.password_reset": "重置密码",
    "account.unlocked": "解除锁定",
    "account.org_admin": "设置机构管理员",
    "account.recover_identity_closed": "身份找回已关闭",
    "account.recover_identity": "通过身份信息找回账户",
    "account.recover_sms": "通过手机找回账户",
    "account.recover_email": "通过邮箱找回账户",
    "account.mobile_change": "更换手机号",
    "account.mobile_verify": "验证手机号",
    "account.email_change": "更换邮箱",
    "account.email_verify": "验证邮箱",
    "account.password_change": "修改密码",
    "account.register": "个人用户注册",
    "account.identity_update": "修改身份信息",
    "account.activate_failed": "账户激活未通过",
    "account.activate_refused_owned": "账户激活被拒绝（身份已被占用）",
    "account.activate": "医师账户激活",
    "account.closed_duplicate": "关闭重复账户",
}
ACTIONS.update({f"application.{key}": f"办结：{label}" for key, label in OUTCOMES.items()})
ACTIONS.update({f"registration.penalty.{key.lower()}": f"行政处罚：{label}"
                for key, label in PENALTY_KINDS.items()})
TASK_PREFIX = "task."  # task.<step id>: a person completed a step

DETAILS: dict[str, str] = {
    "task": "任务", "decision": "决定", "note": "意见", "reason": "理由", "via": "方式",
    "process": "业务类型", "process_id": "业务类型", "version": "流程版本", "registration": "执业注册",
    "error": "失败原因", "year": "年度", "due_before": "原期限", "due_after": "新期限",
    "from_version": "原版本", "to_version": "新版本", "accepted_on": "受理日期", "deemed": "视为受理",
    "due_on": "办理期限", "due": "期限", "recipients": "提醒人数", "comment": "留言",
}
YES_NO = {True: "是", False: "否"}


@dataclass(frozen=True)
class AuditLine:
    """One audit event as the administrator reads it."""

    event: AuditEvent
    action: str
    detail: str


def action_label(action: str) -> str:
    """The Chinese name of an action (办理任务 for any step; 其他操作 for one not known)."""
    if action in ACTIONS:
        return ACTIONS[action]
    if action.startswith(TASK_PREFIX):
        return "办理任务"
    return "其他操作"


def _value(key: str, value: Any, decision: Callable[[Any], str]) -> str:
    if isinstance(value, bool):
        return YES_NO[value]
    if key == "decision":
        return decision(value)
    if key in ("process", "process_id"):
        return eligibility.type_name(str(value))
    return str(value)


def describe(event: AuditEvent, decision: Callable[[Any], str] = str,
             task_title: Callable[[Any], str] = lambda _: "") -> AuditLine:
    """The event in words; ``decision`` names a step's decision (the form's labels) and
    ``task_title`` the step a task id stands for."""
    detail = dict(event.detail or {})
    parts = []
    if event.action.startswith(TASK_PREFIX) and "task" in detail and event.action not in ACTIONS:
        task = detail.pop("task")
        title = task_title(task)
        head = f"任务 {task}" + (f"（{title}）" if title else "")
        chosen = detail.pop("decision", None)
        parts.append(f"{head}：{decision(chosen)}" if chosen else head)
    for key, value in detail.items():
        if value is None or value == "":
            continue
        parts.append(f"{DETAILS.get(key, '其他')}：{_value(key, value, decision)}")
    return AuditLine(event, action_label(event.action), "；".join(parts))
