"""Task flags: what a user task allows, set in the diagram as spiffworkflow properties named
``medreg:…`` on the task (the process editor shows them as checkboxes and a text field)::

    <spiffworkflow:property name="medreg:bulk" value="true"/>          批量确认
    <spiffworkflow:property name="medreg:withdrawable" value="true"/>  医师可撤回
    <spiffworkflow:property name="medreg:locked" value="registration_id,institution_id"/>
                                                                       补正时不可修改的字段
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

PREFIX = "medreg:"
BULK = "medreg:bulk"
WITHDRAWABLE = "medreg:withdrawable"
LOCKED = "medreg:locked"
LABELS = {BULK: "批量确认", WITHDRAWABLE: "医师可撤回", LOCKED: "补正时不可修改的字段"}
_BOOLEAN = {"true": True, "false": False}
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,59}$")


@dataclass(frozen=True)
class TaskFlags:
    """The flags of one user task (all off unless the diagram sets them)."""

    bulk: bool = False  # may be confirmed together with others (批量确认)
    withdrawable: bool = False  # the physician may withdraw while this task waits
    locked: frozenset[str] = frozenset()  # fields a correction on this task shows read-only


# Versions published before the flags existed carry none; their instances keep what the code
# used to say for them (批量确认 and 撤回 at 医疗机构确认, 撤回 and locked fields at 补正).
_LEGACY_LOCKED = frozenset({"registration_id", "filing_id", "institution_id"})
LEGACY = {
    "institution_confirm": TaskFlags(bulk=True, withdrawable=True),
    "physician_apply": TaskFlags(withdrawable=True, locked=_LEGACY_LOCKED),
    "physician_supplement": TaskFlags(locked=_LEGACY_LOCKED),
}


def has_any(props: Mapping[str, str]) -> bool:
    """Whether a task sets any ``medreg:`` property."""
    return any(str(name).startswith(PREFIX) for name in props)


def _fields(value: str) -> list[str]:
    return [f.strip() for f in value.split(",") if f.strip()]


def read(props: Mapping[str, str]) -> TaskFlags:
    """The flags in a task's properties (a value :func:`problems` refuses counts as unset)."""
    locked = _fields(props.get(LOCKED, ""))
    return TaskFlags(_BOOLEAN.get(props.get(BULK, "").strip()) is True,
                     _BOOLEAN.get(props.get(WITHDRAWABLE, "").strip()) is True,
                     frozenset(f for f in locked if _FIELD.match(f)))


def problems(props: Mapping[str, str], form_fields: set[str] | None = None) -> list[str]:
    """Why a task's ``medreg:`` properties are not acceptable (Chinese), empty when they are.

    :param form_fields: the fields of the task's form, when known (locked fields must be
        among them).
    """
    out: list[str] = []
    for name, raw in props.items():
        if not name.startswith(PREFIX):
            continue
        value = (raw or "").strip()
        if name not in LABELS:
            out.append(f"未知的任务属性 {name}（可用：{'、'.join(sorted(LABELS))}）")
        elif name in (BULK, WITHDRAWABLE) and value not in _BOOLEAN:
            out.append(f"任务属性 {name}（{LABELS[name]}）的值只能是 true 或 false，不能是“{value}”")
        elif name == LOCKED:
            fields = _fields(value)
            bad = [f for f in fields if not _FIELD.match(f)]
            if not fields or bad:
                out.append(f"任务属性 {name}（{LABELS[name]}）应为以逗号分隔的字段名，"
                           f"“{'、'.join(bad) or value}”不是字段名")
            elif form_fields is not None and (unknown := sorted(set(fields) - form_fields)):
                out.append(f"任务属性 {name}（{LABELS[name]}）中的字段 {'、'.join(unknown)} "
                           "不在该任务的表单中")
    return out
