"""The order in which a diagram reaches its user tasks (for a plain list of steps)."""

from __future__ import annotations

from collections import deque

from app.workflow.xmlsafe import parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def user_task_order(xml: bytes | str, process_id: str) -> list[str]:
    """The ids of the process's user tasks, nearest to the start event first (breadth-first
    along the sequence flows; tasks no flow reaches come last, in document order)."""
    root = parse_xml(xml)
    process = root.find(f"{{{BPMN_NS}}}process[@id='{process_id}']")
    if process is None:
        return []
    tasks = [str(el.get("id")) for el in process.iter(f"{{{BPMN_NS}}}userTask")]
    following: dict[str, list[str]] = {}
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        following.setdefault(str(flow.get("sourceRef")), []).append(str(flow.get("targetRef")))
    starts = [str(el.get("id")) for el in process.findall(f"{{{BPMN_NS}}}startEvent")]
    seen: dict[str, int] = {}
    queue: deque[str] = deque(starts)
    for s in starts:
        seen[s] = 0
    while queue:
        node = queue.popleft()
        for nxt in following.get(node, []):
            if nxt not in seen:
                seen[nxt] = seen[node] + 1
                queue.append(nxt)
    unreached = len(seen) + 1
    return sorted(tasks, key=lambda t: (seen.get(t, unreached), tasks.index(t)))
