"""`flask bpmn validate` checks diagrams as an upload would be checked."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from flask import Flask

ROOT = Path(__file__).resolve().parents[2]
BASE = (ROOT / "bpmn" / "registration.bpmn").read_text("utf-8")
# The file a hostile diagram would write; one path per test process (parallel runs).
MARKER = str(Path(tempfile.gettempdir()) / f"medreg-pwned-{os.getpid()}")

PRESCRIPT = ('<spiffworkflow:properties>\n'
             '          <spiffworkflow:property name="form" value="institution_confirm_paper" />')


def _variant(kind: str) -> str:
    if kind == "script_import":
        return BASE.replace("clock = start_clock(today())",
                            f"clock = __import__('os').system('touch {MARKER}')")
    if kind == "prescript_subclasses":
        return BASE.replace(PRESCRIPT, "<spiffworkflow:preScript>x = ().__class__.__base__"
                            ".__subclasses__()</spiffworkflow:preScript>\n        " + PRESCRIPT)
    if kind == "postscript_open":
        return BASE.replace(PRESCRIPT, f"<spiffworkflow:postScript>open('{MARKER}', 'w')"
                            "</spiffworkflow:postScript>\n        " + PRESCRIPT)
    if kind == "condition_frames":
        return BASE.replace('decision == "confirm"', "(x for x in [1]).gi_frame.f_back.f_globals")
    if kind == "timer_import":
        return BASE.replace('>clock["remind_at"]</bpmn:timeDate>',
                            ">__import__('os').getcwd()</bpmn:timeDate>", 1)
    if kind == "doctype":
        return BASE.replace('<?xml version="1.0" encoding="UTF-8"?>',
                            '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE x [<!ENTITY '
                            'xxe SYSTEM "file:///etc/passwd">]>')
    if kind == "unknown_operation":
        return BASE.replace('serviceTaskOperator id="apply_registration"',
                            'serviceTaskOperator id="delete_everything"')
    if kind == "unknown_lane":  # the role key is the lane's id (lane_<role>), not its name
        return BASE.replace('lane_commission"', 'lane_hackers"')
    if kind == "lane_without_role":  # a Chinese name alone names no role
        return BASE.replace('lane_commission"', 'Lane_0x7k2"')
    raise AssertionError(kind)


EXPECT = {
    "script_import": "clock_start",
    "prescript_subclasses": "institution_confirm",
    "postscript_open": "institution_confirm",
    "condition_frames": "f_inst_ok",  # the sequence flow that holds the condition (issue 12 §5)
    "timer_import": "accept_reminder",
    "doctype": "DOCTYPE",
    "unknown_operation": "issue_registration",
    "unknown_lane": "commission_accept",
    "lane_without_role": "commission_accept",
}


@pytest.mark.parametrize("kind", sorted(EXPECT))
def test_hostile_diagram_is_refused_and_nothing_runs(app: Flask, tmp_path: Path,
                                                     kind: str) -> None:
    Path(MARKER).unlink(missing_ok=True)
    path = tmp_path / f"{kind}.bpmn"
    text = _variant(kind)
    assert text != BASE, "the test must really change the diagram"
    path.write_text(text, "utf-8")
    result = app.test_cli_runner().invoke(args=["bpmn", "validate", str(path)])
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.output.splitlines() if ln.startswith(str(path))]
    assert lines, result.output
    assert any(EXPECT[kind] in ln for ln in lines), result.output
    assert not Path(MARKER).exists()


def test_every_baseline_diagram_passes(app: Flask) -> None:
    files = sorted(str(p) for p in (ROOT / "bpmn").glob("*.bpmn"))
    assert files
    result = app.test_cli_runner().invoke(args=["bpmn", "validate", *files])
    assert result.exit_code == 0, result.output


def test_missing_file_is_reported(app: Flask, tmp_path: Path) -> None:
    result = app.test_cli_runner().invoke(
        args=["bpmn", "validate", str(tmp_path / "nope.bpmn")])
    assert result.exit_code == 1 and "nope.bpmn" in result.output
