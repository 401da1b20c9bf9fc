"""A stored definition version is read back from its serialized specs, without SpiffWorkflow
(docs/performance.md, Memory, third round): the name and user tasks a page shows — title,
lane, form, status, task flags — are those parsing its diagram gives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.workflow import TaskFlags
from app.workflow import load_definition
from app.workflow.spec import stored_definition

ROOT = Path(__file__).resolve().parents[2]
DIAGRAMS = sorted((ROOT / "bpmn").glob("*.bpmn"))


@pytest.mark.parametrize("path", DIAGRAMS, ids=[p.stem for p in DIAGRAMS])
def test_a_stored_version_reads_as_its_diagram_parses(path: Path) -> None:
    parsed = load_definition(path.read_text("utf-8"), path.stem)
    assert parsed.user_tasks, "every shipped diagram has user tasks"
    assert stored_definition(parsed.spec_json) == parsed


def test_a_stored_version_from_before_the_flags_keeps_what_the_code_said() -> None:
    base = (ROOT / "bpmn" / "registration.bpmn").read_text("utf-8")
    old = re.sub(r'\s*<spiffworkflow:property name="medreg:[^"]+" value="[^"]*" />', "", base)
    stored = stored_definition(load_definition(old, "registration").spec_json)
    # guide-conformance row 10: 撤回申请 until the institution confirms (the legacy flags)
    assert stored.user_tasks["institution_confirm"].flags == TaskFlags(bulk=True, withdrawable=True)
    assert stored.user_tasks["commission_accept"].flags == TaskFlags()
    assert stored.user_tasks["commission_accept"].title == "卫健委受理"
    assert stored.user_tasks["commission_accept"].lane == "commission"  # the role key, not 卫生健康委
    assert stored.name == "注册"


def test_a_version_whose_stored_specs_cannot_be_read_is_read_from_its_diagram() -> None:
    # pages show a version's name and steps from its stored specs; a version stored in another
    # shape (an older or newer serializer) still shows them, read from its diagram
    from types import SimpleNamespace

    from app.services.backoffice.definitions import definition_of

    xml = (ROOT / "bpmn" / "registration.bpmn").read_text("utf-8")
    parsed = load_definition(xml, "registration")
    row = SimpleNamespace(id=-1, sha256="another-shape", process_id="registration", bpmn_xml=xml,
                          spec_json='{"spec": {"name": "registration"}}')
    found = definition_of(row)  # type: ignore[arg-type]
    assert found.name == parsed.name == "注册"
    assert found.user_tasks == parsed.user_tasks
