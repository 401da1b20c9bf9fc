"""The diagrams and forms a new process starts from (新建流程): the common skeleton
(physician → 医疗机构确认 → 卫健委受理 → 审查决定, with the statutory clock and its reminder and
overdue timers) or an empty diagram; and the test cases the skeleton comes with.

The skeleton is small on purpose: every step's decision goes to one gateway (办理意见): the
positive answers (confirm / accept / approve) lead on, 退回修改 and 一次性告知补正 (with the clock
paused, 行政许可法 第三十二条) go back to the physician, and 不予确认 / 不予受理 / 不予批准 close
the application as refused. So two cases (准予 after both corrections, and 不予批准) reach every
element and flow, and a new process can be published as it is and then grown in the editor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import quoteattr

# x, y, width, height of each shape kind
_SIZE = {"startEvent": (36, 36), "endEvent": (36, 36), "boundaryEvent": (36, 36),
         "exclusiveGateway": (50, 50), "userTask": (110, 80), "serviceTask": (110, 80),
         "scriptTask": (110, 80)}
LANES = (("physician", 0, 160), ("institution", 160, 180), ("commission", 340, 560))
# the name a person reads on each lane (the role key is in the lane's id: lane_<key>)
LANE_NAMES = {"physician": "医师", "institution": "医疗机构", "target_institution": "拟执业机构",
              "commission": "卫生健康委"}
_X0, _WIDTH = 120, 1900


@dataclass(frozen=True)
class _Node:
    id: str
    kind: str
    name: str
    lane: str
    x: int
    y: int  # centre line inside the lane
    body: str = ""  # inner XML (extension elements, script, event definition)
    attrs: str = ""


def _props(form: str, status: str, extra: tuple[tuple[str, str], ...] = ()) -> str:
    rows = [("form", form), ("status", status), *extra]
    inner = "".join(f'<spiffworkflow:property name="{k}" value="{v}" />' for k, v in rows)
    return (f"<bpmn:extensionElements><spiffworkflow:properties>{inner}"
            "</spiffworkflow:properties></bpmn:extensionElements>")


def _operator(op: str, result: str, params: tuple[tuple[str, str], ...] = ()) -> str:
    inner = "".join(f"<spiffworkflow:parameter id={quoteattr(k)} type=\"str\" value={quoteattr(v)} />"
                    for k, v in params)
    return (f'<bpmn:extensionElements><spiffworkflow:serviceTaskOperator id="{op}" '
            f'resultVariable="{result}"><spiffworkflow:parameters>{inner}'
            "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>")


def _timer(node_id: str, expr: str) -> str:
    return (f'<bpmn:timerEventDefinition id="{node_id}_def"><bpmn:timeDate '
            f'xsi:type="bpmn:tFormalExpression">{expr}</bpmn:timeDate></bpmn:timerEventDefinition>')


# the outcome close_application records: which step said no
REFUSED_OUTCOME = ('"not_accepted" if decision == "reject" else '
                   '("refused" if stage == "commission" else "inst_refused")')


def _skeleton_nodes(apply_form: str) -> list[_Node]:
    cy, iy, py = 520, 240, 80
    locked = (("medreg:locked", "registration_id"),)
    return [
        _Node("start", "startEvent", "提交申请", "physician", 160, py),
        _Node("physician_apply", "userTask", "修改并重新提交申请", "physician", 420, py,
              _props(apply_form, "已退回补正", locked)),
        _Node("physician_supplement", "userTask", "按一次性告知补正材料", "physician", 1010, py,
              _props(apply_form, "待补正材料", locked)),
        _Node("clock_pause", "scriptTask", "暂停计时", "commission", 1010, cy - 130,
              "<bpmn:script>clock = pause_clock(clock, today())</bpmn:script>"),
        _Node("clock_resume", "scriptTask", "恢复计时", "commission", 700, cy - 130,
              "<bpmn:script>clock = resume_clock(clock, today())</bpmn:script>"),
        _Node("receive", "scriptTask", "登记申请", "institution", 260, iy,
              '<bpmn:script>stage = "institution"</bpmn:script>'),
        _Node("institution_confirm", "userTask", "医疗机构确认", "institution", 420, iy,
              _props("institution_confirm_paper", "待机构确认", (("medreg:bulk", "true"),))),
        _Node("clock_start", "scriptTask", "开始计算法定时限", "commission", 700, cy,
              '<bpmn:script>clock = start_clock(today())\nstage = "commission"</bpmn:script>'),
        _Node("commission_accept", "userTask", "卫健委受理", "commission", 860, cy,
              _props("commission_accept", "待卫健委受理")),
        _Node("gw_route", "exclusiveGateway", "办理意见", "commission", 1310, cy - 130),
        _Node("commission_decide", "userTask", "审查决定", "commission", 1160, cy,
              _props("commission_decide", "审查中")),
        _Node("close_approved", "serviceTask", "通知准予", "commission", 1460, cy,
              _operator("close_application", "closed", (("outcome", "'approved'"),))),
        _Node("end_approved", "endEvent", "已批准", "commission", 1620, cy),
        _Node("close_refused", "serviceTask", "通知不予办理", "commission", 1460, cy + 110,
              _operator("close_application", "closed", (("outcome", REFUSED_OUTCOME),))),
        _Node("end_refused", "endEvent", "不予办理", "commission", 1620, cy + 110),
        *_timers("accept", "commission_accept", 860, cy),
        *_timers("decide", "commission_decide", 1160, cy),
    ]


def _timers(stage: str, task: str, x: int, y: int) -> list[_Node]:
    return [
        _Node(f"{stage}_reminder", "boundaryEvent", "第15个工作日", "commission", x + 25, y + 40,
              _timer(f"{stage}_reminder", 'clock["remind_at"]'),
              f' cancelActivity="false" attachedToRef="{task}"'),
        _Node(f"{stage}_overdue", "boundaryEvent", "第20个工作日届满", "commission", x - 25, y + 40,
              _timer(f"{stage}_overdue", 'clock["overdue_at"]'),
              f' cancelActivity="false" attachedToRef="{task}"'),
        _Node(f"remind_{stage}", "serviceTask", "提醒：时限将到", "commission", x + 60, y + 120,
              _operator("statutory_reminder", "reminder", (("due", 'clock["remind_at"]'),))),
        _Node(f"overdue_{stage}", "serviceTask", "标记超期", "commission", x - 60, y + 220,
              _operator("statutory_overdue", "overdue", (("due", 'clock["overdue_at"]'),))),
        _Node(f"end_remind_{stage}", "endEvent", "", "commission", x + 60, y + 220),
        _Node(f"end_overdue_{stage}", "endEvent", "", "commission", x - 60, y + 310),
    ]


# (id, source, target, name, condition)
_FLOWS = (
    ("f_start", "start", "receive", "", ""),
    ("f_receive", "receive", "institution_confirm", "", ""),
    ("f_confirm_gw", "institution_confirm", "gw_route", "", ""),
    ("f_clock", "clock_start", "commission_accept", "", ""),
    ("f_accept_gw", "commission_accept", "gw_route", "", ""),
    ("f_decide_gw", "commission_decide", "gw_route", "", ""),
    ("f_confirmed", "gw_route", "clock_start", "机构确认", 'decision == "confirm"'),
    ("f_accepted", "gw_route", "commission_decide", "受理", 'decision == "accept"'),
    ("f_approve", "gw_route", "close_approved", "准予", 'decision == "approve"'),
    ("f_return", "gw_route", "physician_apply", "退回修改", 'decision == "return"'),
    ("f_resubmit", "physician_apply", "institution_confirm", "重新提交", ""),
    ("f_correct", "gw_route", "clock_pause", "一次性告知补正", 'decision == "correct"'),
    ("f_pause", "clock_pause", "physician_supplement", "", ""),
    ("f_supplied", "physician_supplement", "clock_resume", "提交补正材料", ""),
    ("f_resume", "clock_resume", "commission_accept", "", ""),
    ("f_refuse", "gw_route", "close_refused", "不予确认、不予受理或不予批准",
     'decision in ("refuse", "reject")'),
    ("f_approved_end", "close_approved", "end_approved", "", ""),
    ("f_refused_end", "close_refused", "end_refused", "", ""),
    *((f"f_r{s}", f"{s}_reminder", f"remind_{s}", "", "") for s in ("accept", "decide")),
    *((f"f_r{s}_end", f"remind_{s}", f"end_remind_{s}", "", "") for s in ("accept", "decide")),
    *((f"f_o{s}", f"{s}_overdue", f"overdue_{s}", "", "") for s in ("accept", "decide")),
    *((f"f_o{s}_end", f"overdue_{s}", f"end_overdue_{s}", "", "") for s in ("accept", "decide")),
)


def _case_nodes(apply_form: str) -> list[_Node]:
    """The institution-started skeleton: no 医疗机构确认 (the institution starts it), 一次性告知补正
    goes back to the institution."""
    iy = 240
    locked = (("medreg:locked", "registration_id"),)
    return [
        _Node("start", "startEvent", "发起业务", "institution", 160, iy),
        _Node("institution_supplement", "userTask", "按一次性告知补正材料", "institution", 1010, iy,
              _props(apply_form, "待补正材料", locked)),
        *(n for n in _skeleton_nodes(apply_form) if n.lane == "commission"),
    ]


_CASE_FLOWS = (
    ("f_start", "start", "clock_start", "", ""),
    *(f for f in _FLOWS if f[0] not in ("f_start", "f_receive", "f_confirm_gw", "f_confirmed",
                                          "f_return", "f_resubmit", "f_pause", "f_supplied")),
    ("f_pause", "clock_pause", "institution_supplement", "", ""),
    ("f_supplied", "institution_supplement", "clock_resume", "提交补正材料", ""),
)


def _box(n: _Node) -> tuple[int, int, int, int]:
    w, h = _SIZE[n.kind]
    return n.x - w // 2, n.y - h // 2, w, h


def _diagram(process_id: str, name: str, nodes: list[_Node],
             flows: tuple[tuple[str, str, str, str, str], ...]) -> str:
    by_id = {n.id: n for n in nodes}
    out = [f'<bpmn:process id="{process_id}" name={quoteattr(name)} isExecutable="true">',
           f'<bpmn:laneSet id="{process_id}_lanes">']
    for lane, _y, _h in LANES:
        refs = "".join(f"<bpmn:flowNodeRef>{n.id}</bpmn:flowNodeRef>" for n in nodes if n.lane == lane)
        out.append(f'<bpmn:lane id="lane_{lane}" name="{LANE_NAMES[lane]}">{refs}</bpmn:lane>')
    out.append("</bpmn:laneSet>")
    for n in nodes:
        ins = "".join(f"<bpmn:incoming>{f[0]}</bpmn:incoming>" for f in flows if f[2] == n.id)
        outs = "".join(f"<bpmn:outgoing>{f[0]}</bpmn:outgoing>" for f in flows if f[1] == n.id)
        body = n.body
        head, tail = (body, "") if n.kind != "scriptTask" and n.kind != "boundaryEvent" else ("", body)
        out.append(f"<bpmn:{n.kind} id=\"{n.id}\" name={quoteattr(n.name)}{n.attrs}>"
                   f"{head}{ins}{outs}{tail}</bpmn:{n.kind}>")
    for fid, src, dst, label, cond in flows:
        c = (f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{_esc(cond)}'
             "</bpmn:conditionExpression>") if cond else ""
        out.append(f'<bpmn:sequenceFlow id="{fid}" name={quoteattr(label)} sourceRef="{src}" '
                   f'targetRef="{dst}">{c}</bpmn:sequenceFlow>')
    out.append("</bpmn:process>")
    shapes = [f'<bpmndi:BPMNShape id="{process_id}_pool_di" bpmnElement="{process_id}_pool" '
              f'isHorizontal="true"><dc:Bounds x="{_X0 - 30}" y="0" width="{_WIDTH}" '
              f'height="{sum(h for _l, _y, h in LANES)}" /></bpmndi:BPMNShape>']
    for lane, y, h in LANES:
        shapes.append(f'<bpmndi:BPMNShape id="lane_{lane}_di" bpmnElement="lane_{lane}" '
                      f'isHorizontal="true"><dc:Bounds x="{_X0}" y="{y}" width="{_WIDTH - 30}" '
                      f'height="{h}" /></bpmndi:BPMNShape>')
    for n in nodes:
        x, y, w, h = _box(n)
        shapes.append(f'<bpmndi:BPMNShape id="{n.id}_di" bpmnElement="{n.id}"><dc:Bounds x="{x}" '
                      f'y="{y}" width="{w}" height="{h}" /></bpmndi:BPMNShape>')
    for fid, src, dst, _label, _cond in flows:
        a, b = by_id[src], by_id[dst]
        points = [(a.x, a.y), (a.x, b.y), (b.x, b.y)] if a.y != b.y else [(a.x, a.y), (b.x, b.y)]
        wps = "".join(f'<di:waypoint x="{px}" y="{py}" />' for px, py in points)
        shapes.append(f'<bpmndi:BPMNEdge id="{fid}_di" bpmnElement="{fid}">{wps}</bpmndi:BPMNEdge>')
    return _document(process_id, name, "".join(out), "".join(shapes))


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _document(process_id: str, name: str, process: str, shapes: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
        'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
        f'id="{process_id}_definitions" targetNamespace="http://bpmn.io/schema/bpmn">'
        f'<bpmn:collaboration id="{process_id}_collaboration"><bpmn:participant '
        f'id="{process_id}_pool" name={quoteattr(name)} processRef="{process_id}" />'
        f"</bpmn:collaboration>{process}"
        f'<bpmndi:BPMNDiagram id="{process_id}_diagram"><bpmndi:BPMNPlane '
        f'id="{process_id}_plane" bpmnElement="{process_id}_collaboration">{shapes}'
        "</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>\n")


def skeleton_xml(process_id: str, name: str, starter: str = "physician") -> str:
    """The common skeleton as a diagram of process ``process_id`` named ``name`` (started by an
    institution: institution → 卫健委受理 → 审查决定)."""
    if starter == "institution":
        return _diagram(process_id, name, _case_nodes(f"{process_id}_apply"), _CASE_FLOWS)
    return _diagram(process_id, name, _skeleton_nodes(f"{process_id}_apply"), _FLOWS)


def empty_xml(process_id: str, name: str, starter: str = "physician") -> str:
    """A diagram with the lanes and a start event only, in the starter's lane (the
    administrator draws the rest)."""
    lane = next((lane for lane in LANES if lane[0] == starter), LANES[0])
    start = _Node("start", "startEvent", "提交申请" if starter == "physician" else "发起业务",
                  lane[0], 160, lane[1] + 80)
    return _diagram(process_id, name, [start], ())


def apply_form(name: str, starter: str = "physician") -> dict[str, Any]:
    """The physician's application form: the registration it concerns, a statement, the pledge
    (the wording of the guide's 申请审核表). Started by an institution or a commission (发起业务),
    it names a registration of its own physicians (its jurisdiction) instead."""
    staff = starter != "physician"
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": name if staff else f"{name}申请",
        "type": "object",
        "required": ["registration_id", "declare_true"],
        "properties": {
            "registration_id": {"type": "integer",
                                "title": "涉及的执业注册" if staff else "申请涉及的执业注册"},
            "note": {"type": "string", "title": "情况说明", "maxLength": 300},
            "declare_true": {"type": "boolean", "const": True,
                             "title": "承诺所填信息真实有效" if staff else "本人承诺所填信息真实有效"},
        },
        "additionalProperties": False,
        "x-ui": {"order": ["registration_id", "note", "declare_true"],
                 "widgets": {"registration_id": {
                     "widget": "select",
                     "options": "registrations_reportable" if staff else "registrations_active"},
                     "note": {"widget": "textarea"},
                     "declare_true": {"widget": "checkbox"}}},
    }


def template_cases(process_id: str, starter: str = "physician") -> dict[str, dict[str, Any]]:
    """A happy path (退回修改 and 一次性告知补正 on the way, the clock's reminder and overdue at
    受理) and a refusal at 审查决定 (with those at 审查决定): together they reach every element
    and flow of the skeleton."""
    data = {"registration_id": 1, "note": "测试", "declare_true": True}
    start = {"form": f"{process_id}_apply", "data": data}
    if starter == "institution":
        return _case_template_cases(start, data)
    confirm = {"task": "institution_confirm", "lane": "institution",
               "data": {"decision": "confirm", "paper_held": True}, "ready": ["commission_accept"]}
    accept = {"task": "commission_accept", "lane": "commission", "data": {"decision": "accept"},
              "ready": ["commission_decide"]}
    return {
        "approved": {
            "name": "机构退回修改、受理时一次性告知补正，补正后准予（受理期间时限提醒与届满）",
            "rules": ["行政许可法 第三十二条", "行政许可法 第三十四条", "行政许可法 第四十二条"],
            "start": start,
            "steps": [{"task": "institution_confirm", "lane": "institution",
                       "data": {"decision": "return", "note": "请补充情况说明", "fields": ["note"]},
                       "ready": ["physician_apply"]},
                      {"task": "physician_apply", "lane": "physician", "data": data,
                       "ready": ["institution_confirm"]},
                      confirm,
                      {"timer": "accept_reminder", "ready": ["commission_accept"]},
                      {"timer": "accept_overdue", "ready": ["commission_accept"]},
                      {"task": "commission_accept", "lane": "commission",
                       "data": {"decision": "correct", "note": "请一次性补正申请审核表",
                                "fields": ["declare_true"]},
                       "ready": ["physician_supplement"]},
                      {"task": "physician_supplement", "lane": "physician", "data": data,
                       "ready": ["commission_accept"]},
                      accept,
                      {"task": "commission_decide", "lane": "commission",
                       "data": {"decision": "approve"}}],
            "expect": {"end": "end_approved", "business_status": "已批准",
                       "called": ["statutory_reminder", "statutory_overdue", "close_application"]},
        },
        "refused": {
            "name": "受理后审查决定不予批准（审查期间时限提醒与届满）",
            "rules": ["行政许可法 第三十八条", "行政许可法 第四十二条"],
            "start": start,
            "steps": [confirm, accept,
                      {"timer": "decide_reminder", "ready": ["commission_decide"]},
                      {"timer": "decide_overdue", "ready": ["commission_decide"]},
                      {"task": "commission_decide", "lane": "commission",
                       "data": {"decision": "refuse", "note": "不符合条件"}}],
            "expect": {"end": "end_refused", "business_status": "已不予批准",
                       "called": ["statutory_reminder", "statutory_overdue", "close_application"]},
        },
    }


def _case_template_cases(start: dict[str, Any], data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The institution-started skeleton's cases: 一次性告知补正 back to the institution then 准予,
    and 不予批准; together they reach every element and flow."""
    accept = {"task": "commission_accept", "lane": "commission", "data": {"decision": "accept"},
              "ready": ["commission_decide"]}
    called = ["statutory_reminder", "statutory_overdue", "close_application"]
    return {
        "approved": {
            "name": "受理时一次性告知机构补正，补正后准予（受理期间时限提醒与届满）",
            "rules": ["行政许可法 第三十二条", "行政许可法 第四十二条"],
            "start": start,
            "steps": [{"timer": "accept_reminder", "ready": ["commission_accept"]},
                      {"timer": "accept_overdue", "ready": ["commission_accept"]},
                      {"task": "commission_accept", "lane": "commission",
                       "data": {"decision": "correct", "note": "请一次性补正情况说明",
                                "fields": ["note"]},
                       "ready": ["institution_supplement"]},
                      {"task": "institution_supplement", "lane": "institution", "data": data,
                       "ready": ["commission_accept"]},
                      accept,
                      {"task": "commission_decide", "lane": "commission",
                       "data": {"decision": "approve"}}],
            "expect": {"end": "end_approved", "business_status": "已批准", "called": called},
        },
        "refused": {
            "name": "受理后审查决定不予批准（审查期间时限提醒与届满）",
            "rules": ["行政许可法 第三十八条", "行政许可法 第四十二条"],
            "start": start,
            "steps": [accept,
                      {"timer": "decide_reminder", "ready": ["commission_decide"]},
                      {"timer": "decide_overdue", "ready": ["commission_decide"]},
                      {"task": "commission_decide", "lane": "commission",
                       "data": {"decision": "refuse", "note": "不符合条件"}}],
            "expect": {"end": "end_refused", "business_status": "已不予批准", "called": called},
        },
    }
