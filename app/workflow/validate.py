"""Checks an uploaded or baseline diagram as an upload would be checked."""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Iterable
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from app.workflow import flags
from app.workflow import form_dialect
from app.workflow.engine import Definition
from app.workflow.engine import load_definition
from app.workflow.engine import parse_specs
from app.workflow.engine import task_properties
from app.workflow.errors import Problem
from app.workflow.errors import WorkflowError
from app.workflow.scripts import SAFE_BUILTIN_NAMES
from app.workflow.scripts import assigned_names
from app.workflow.scripts import problems_for
from app.workflow.xmlsafe import parse_xml


def _texts(ts: Any, conditions: bool = True) -> list[tuple[str, str, str]]:
    """(what, source, mode) of every piece of text the engine would evaluate (gateway
    conditions only with ``conditions``: they are checked on their sequence flows)."""
    out: list[tuple[str, str, str]] = []
    for attr, what in (("prescript", "前置脚本"), ("postscript", "后置脚本")):
        if getattr(ts, attr, None):
            out.append((what, str(getattr(ts, attr)), "exec"))
    if getattr(ts, "script", None):
        out.append(("脚本", ts.script, "exec"))
    for cond, _target in (getattr(ts, "cond_task_specs", None) or []) if conditions else []:
        expr = cond.args[0] if hasattr(cond, "args") and cond.args else cond
        if expr:
            out.append(("条件", str(expr), "eval"))
    for param in (getattr(ts, "operation_params", None) or {}).values():
        out.append(("服务参数", str(param.get("value", "")), "eval"))
    ev = getattr(ts, "event_definition", None)
    if ev is not None:
        if isinstance(ev, TimerEventDefinition):
            out.append(("定时器表达式", ev.expression, "eval"))
        elif isinstance(ev, ConditionalEventDefinition):
            out.append(("条件事件", ev.expression, "eval"))
        elif getattr(ev, "expression", None):
            out.append(("消息表达式", ev.expression, "eval"))
    return out


BPMN_NS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def _flow_conditions(root: Any) -> list[tuple[str, str]]:
    """(sequence flow id, condition) of every conditional sequence flow."""
    out: list[tuple[str, str]] = []
    for flow in root.iter(f"{BPMN_NS}sequenceFlow"):
        for cond in flow.iter(f"{BPMN_NS}conditionExpression"):
            text = (cond.text or "").strip()
            if text:
                out.append((flow.get("id", ""), text))
    return out
_WAITING = {"userTask", "manualTask", "receiveTask", "intermediateCatchEvent"}


def _automatic_cycle(root: Any) -> list[str]:
    """Flow nodes on a loop that passes no user task or catching event (it would run forever)."""
    kinds: dict[str, str] = {}
    edges: dict[str, list[str]] = {}
    for process in root.iter(f"{BPMN_NS}process"):
        for el in process.iter():
            if not isinstance(el.tag, str) or not el.tag.startswith(BPMN_NS) or el.get("id") is None:
                continue
            tag = el.tag[len(BPMN_NS):]
            if tag == "sequenceFlow":
                edges.setdefault(el.get("sourceRef", ""), []).append(el.get("targetRef", ""))
            else:
                kinds[el.get("id", "")] = tag
    moving = {n for n, k in kinds.items() if k not in _WAITING}
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for start in sorted(moving):
        if start in state:
            continue
        path, stack = [start], [iter(edges.get(start, []))]
        state[start] = 1
        while stack:  # iterative depth-first search (diagrams may be long)
            nxt = next((n for n in stack[-1] if n in moving and state.get(n) != 2), None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):]
            else:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(edges.get(nxt, [])))
    return []


WITHDRAW_MESSAGE = "withdraw"


def _withdraw_catchers(root: Any) -> set[str]:
    """Tasks with a boundary event that catches the physician's ``withdraw`` message."""
    names = {m.get("id"): m.get("name") for m in root.iter(f"{BPMN_NS}message")}
    out: set[str] = set()
    for ev in root.iter(f"{BPMN_NS}boundaryEvent"):
        for md in ev.iter(f"{BPMN_NS}messageEventDefinition"):
            if names.get(md.get("messageRef")) == WITHDRAW_MESSAGE:
                out.add(ev.get("attachedToRef", ""))
    return out


def validate_bpmn(
    xml: bytes | str,
    *,
    forms: dict[str, dict[str, Any]] | None = None,
    operations: Iterable[str] = (),
    functions: Iterable[str] = (),
    lanes: Iterable[str] = (),
    process_id: str | None = None,
    option_sources: Collection[str] | None = None,
) -> tuple[Definition | None, list[Problem]]:
    """Validate a diagram; return its definition (if acceptable) and every problem found.

    :param forms: known forms (form id -> JSON schema); user tasks must name one.
    :param operations: the names service tasks may call.
    :param functions: the names scripts may call.
    :param lanes: allowed lane names (the roles).
    :param option_sources: the option lists form widgets may name (None: not checked).
    """
    try:
        root = parse_xml(xml)
        VALIDATOR.validate(root.getroottree(), filename="upload.bpmn")
    except WorkflowError as exc:
        return None, exc.problems or [Problem("", exc.message)]
    except Exception as exc:  # the XSD validator raises its own ValidationException
        return None, [Problem(getattr(exc, "id", "") or "", f"不符合 BPMN 规范：{exc}")]
    try:
        spec, subs = parse_specs(xml, process_id)
        definition = load_definition(xml, process_id)
    except WorkflowError as exc:
        return None, exc.problems or [Problem("", exc.message)]

    forms = forms or {}
    ops, fns, allowed_lanes = set(operations), set(functions), set(lanes)
    known = set(SAFE_BUILTIN_NAMES) | fns | {"True", "False", "None"}
    for form in forms.values():
        props = form.get("properties") if isinstance(form, dict) else None
        known |= set(props) if isinstance(props, dict) else set()
    specs = [spec, *subs.values()]
    for s in specs:
        for ts in s.task_specs.values():
            for _what, src, mode in _texts(ts):
                if mode == "exec":
                    known |= assigned_names(src)
            if getattr(ts, "result_variable", None):
                known.add(ts.result_variable)
            ev = getattr(ts, "event_definition", None)
            for var in ("message_var", "variable"):
                if ev is not None and getattr(ev, var, None):
                    known.add(getattr(ev, var))

    problems: list[Problem] = []
    catchers = _withdraw_catchers(parse_xml(xml))
    for s in specs:
        for ts in s.task_specs.values():
            task_id = str(getattr(ts, "bpmn_id", "") or "")
            if (getattr(ts, "manual", False) and flags.read(task_properties(ts)).withdrawable
                    and task_id not in catchers):
                problems.append(Problem(task_id, "任务标记为“医师可撤回”（medreg:withdrawable），但没有"
                                             "接收“医师撤回”消息（withdraw）的边界事件"))
    checked_forms: set[str] = set()  # each form's dialect problems once, on its first task
    cycle = _automatic_cycle(parse_xml(xml))
    if cycle:
        problems.append(Problem(cycle[0], "流程中存在不经过人工任务或等待事件的循环（"
                                + " → ".join(cycle) + "），会无限执行"))
    for s in specs:
        for ts in s.task_specs.values():
            eid = getattr(ts, "bpmn_id", None)
            if eid is None:
                continue
            if isinstance(ts, LoopTask) or type(ts).__name__.endswith("MultiInstanceTask"):
                problems.append(Problem(eid, "不支持循环或多实例任务"))
            if type(ts).__name__ == "BusinessRuleTask":
                problems.append(Problem(eid, "不支持决策表任务"))
            if allowed_lanes and ts.lane is not None and ts.lane not in allowed_lanes:
                problems.append(Problem(eid, f"泳道 {ts.lane} 不是已知角色（泳道的 id 应为 lane_ 加角色，"
                                             f"如 {'、'.join('lane_' + k for k in sorted(allowed_lanes))}）"))
            if getattr(ts, "manual", False):
                form_id = definition.user_tasks[eid].form_id
                if allowed_lanes and ts.lane is None:
                    problems.append(Problem(eid, "用户任务必须位于某个角色泳道中"))
                if form_id not in forms:
                    problems.append(Problem(eid, f"表单 {form_id} 不存在"))
                elif form_id not in checked_forms:
                    checked_forms.add(form_id)
                    problems.extend(Problem(eid, f"表单 {form_id}：{m}")
                                    for m in form_dialect.problems(forms[form_id], option_sources))
                props = forms.get(form_id, {}).get("properties") if form_id in forms else None
                fields = set(props) if isinstance(props, dict) else set()
                for message in flags.problems(task_properties(ts), fields if form_id in forms else None):
                    problems.append(Problem(eid, message))
            elif flags.has_any(task_properties(ts)):
                problems.append(Problem(eid, "任务属性 medreg:… 只能设置在用户任务上"))
            op = getattr(ts, "operation_name", None)
            if op is not None and op not in ops:
                problems.append(Problem(eid, f"服务操作 {op} 未注册"))
            for what, src, mode in _texts(ts, conditions=False):
                for p in problems_for(eid, src, mode, known, fns):
                    problems.append(Problem(p.element_id, f"{what}不安全：{p.message}"))
    for flow_id, src in _flow_conditions(parse_xml(xml)):  # reported on the flow that holds it
        for p in problems_for(flow_id, src, "eval", known, fns):
            problems.append(Problem(p.element_id, f"条件不安全：{p.message}"))
    return (definition if not problems else None), problems
