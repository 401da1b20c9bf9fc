"""Lanes of a diagram: the role key the engine uses, independent of the name a person reads.

A lane's role key comes from its id: ``lane_physician`` → ``physician``. A lane whose id does
not follow that pattern keeps its name as key, so a version published with English lane names
(``name="physician"``) maps to itself and keeps working.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:  # lxml is loaded by the first diagram read: a page that names a lane needs none
    from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_NS = {"bpmn": BPMN}
LANE_PREFIX = "lane_"


@dataclass(frozen=True)
class Lane:
    """One lane: its role key and the name shown in the diagram."""

    key: str
    name: str


@dataclass(frozen=True)
class Milestone:
    """A user task (or the start event) along the path of a diagram."""

    spec_id: str
    title: str
    lane: str | None  # the role key
    form_id: str = ""  # a user task's form (its spiffworkflow "form" property, else its id)


@dataclass(frozen=True)
class Outline:
    """What a plain timeline needs of a diagram: lanes in order, the start, the user tasks
    in the order the path from the start reaches them."""

    lanes: tuple[Lane, ...]
    start: Milestone
    tasks: tuple[Milestone, ...]

    def lane_name(self, key: str | None) -> str:
        return next((lane.name for lane in self.lanes if lane.key == key), key or "")


def role_key(lane_id: str | None, name: str | None) -> str | None:
    """The role key of a lane: its id without ``lane_``, else its name."""
    if lane_id and lane_id.startswith(LANE_PREFIX) and len(lane_id) > len(LANE_PREFIX):
        return lane_id[len(LANE_PREFIX):]
    return name or lane_id


def _lanes(root: etree._Element) -> list[etree._Element]:
    return list(root.iterfind(".//bpmn:lane", _NS))


def lane_keys(root: etree._Element) -> tuple[dict[str, str], dict[str, str]]:
    """(flow node id → role key, lane name → role key) of a parsed diagram."""
    by_node: dict[str, str] = {}
    by_name: dict[str, str] = {}
    for lane in _lanes(root):
        key = role_key(lane.get("id"), lane.get("name"))
        if key is None:
            continue
        by_name.setdefault(lane.get("name") or key, key)
        for ref in lane.iterfind("bpmn:flowNodeRef", _NS):
            if ref.text:
                by_node[ref.text.strip()] = key
    return by_node, by_name


def apply_keys(root: etree._Element, specs: list[Any]) -> None:
    """Replace the lane names SpiffWorkflow put on the task specs by role keys."""
    by_node, by_name = lane_keys(root)
    for spec in specs:
        for ts in spec.task_specs.values():
            lane = getattr(ts, "lane", None)
            if lane is None:
                continue
            bpmn_id = getattr(ts, "bpmn_id", None)
            ts.lane = by_node.get(bpmn_id or "", by_name.get(lane, lane))


@lru_cache(maxsize=64)
def outline(xml: str) -> Outline:
    """The lanes, start event and user tasks of a diagram's executable process, the tasks in
    breadth-first order along its sequence flows from the start event."""
    from app.workflow.xmlsafe import parse_xml

    root = parse_xml(xml)
    by_node, _ = lane_keys(root)
    lanes = tuple(Lane(key, lane.get("name") or key) for lane in _lanes(root)
                  if (key := role_key(lane.get("id"), lane.get("name"))) is not None)
    process = next((p for p in root.iterfind("bpmn:process", _NS)
                    if p.get("isExecutable", "true") != "false"), None)
    if process is None:
        return Outline(lanes, Milestone("start", "", None), ())
    nodes = {el.get("id"): el for el in process if isinstance(el.tag, str) and el.get("id")}
    edges: dict[str, list[str]] = {}
    for flow in process.iterfind("bpmn:sequenceFlow", _NS):
        edges.setdefault(flow.get("sourceRef", ""), []).append(flow.get("targetRef", ""))
    for el in nodes.values():  # a boundary event leaves from its task
        if el.tag == f"{{{BPMN}}}boundaryEvent":
            edges.setdefault(el.get("attachedToRef", ""), []).append(el.get("id", ""))
    events = [i for i, el in nodes.items() if el.tag == f"{{{BPMN}}}startEvent"]
    starts = [i for i in events if not any(str(c.tag).endswith("EventDefinition")
                                           for c in nodes[i])] or events
    start_id = str(starts[0]) if starts else "start"
    start_el = nodes.get(start_id)
    start = Milestone(start_id, (start_el.get("name") if start_el is not None else "") or "",
                      by_node.get(start_id))
    seen, order, queue = {start_id}, [], deque([start_id])
    while queue:
        node = queue.popleft()
        el = nodes.get(node)
        if el is not None and el.tag == f"{{{BPMN}}}userTask":
            form = el.find(f".//{{{SPIFF}}}property[@name='form']")
            order.append(Milestone(node, el.get("name") or node, by_node.get(node),
                                   (form.get("value") if form is not None else None) or node))
        for nxt in edges.get(node, []):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return Outline(lanes, start, tuple(order))


def with_lane_names(xml: str, names: dict[str, str]) -> str:
    """The diagram with each lane whose name is still a role key (a version published before
    lanes had Chinese names) named as a person reads it; for viewing only."""
    from lxml import etree

    from app.workflow.xmlsafe import parse_xml

    root = parse_xml(xml)
    changed = False
    for lane in _lanes(root):
        name = lane.get("name") or ""
        key = role_key(lane.get("id"), name)
        if (not name or name in names) and key in names:
            lane.set("name", names[str(key)])
            changed = True
    if not changed:
        return xml
    return str(etree.tostring(root.getroottree(), encoding="unicode"))
