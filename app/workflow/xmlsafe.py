"""Hardened XML parsing for uploaded diagrams: no DOCTYPE, entities or network."""

from __future__ import annotations

import re

from lxml import etree

from app.workflow.errors import Problem
from app.workflow.errors import WorkflowError

MAX_BPMN_BYTES = 2 * 1024 * 1024
_FORBIDDEN = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(data: bytes | str) -> etree._Element:
    """Parse diagram XML safely or raise :class:`WorkflowError` with a clear message."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_BPMN_BYTES:
        raise WorkflowError(
            "流程图文件过大", [Problem("", f"流程图文件过大：超过 {MAX_BPMN_BYTES // 1024} KB 上限")]
        )
    if _FORBIDDEN.search(raw):
        raise WorkflowError(
            "流程图含有 DOCTYPE 或实体声明，已拒绝",
            [Problem("", "不允许 DOCTYPE/ENTITY 声明")],
        )
    try:
        root = etree.fromstring(raw, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise WorkflowError("流程图不是格式正确的 XML",
                            [Problem("", f"流程图不是格式正确的 XML：{exc}")]) from exc
    if root.getroottree().docinfo.doctype:
        raise WorkflowError("流程图含有 DOCTYPE 声明，已拒绝", [Problem("", "不允许 DOCTYPE")])
    return root
