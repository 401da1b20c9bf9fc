"""The process editor at 1280×900 (issue 12 §8): the canvas takes the page width beside a
fixed-width properties panel that folds away, the diagram is fitted on open, and the palette
never hides an element."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.browser.helpers import sign_in
from tests.factories import World

pytestmark = pytest.mark.browser
NewPage = Callable[[], Page]

# Screen rectangles of the canvas, the palette's entries and every element of the diagram.
GEOMETRY = """() => {
  const m = window.medregModeler, canvas = m.get('canvas'), reg = m.get('elementRegistry');
  const rect = (el) => { const r = el.getBoundingClientRect();
    return { left: r.left, top: r.top, right: r.right, bottom: r.bottom }; };
  const root = canvas.getRootElement();
  const shapes = reg.getAll().filter((e) => e !== root && !e.labelTarget && e.type !== 'label')
    .map((e) => ({ id: e.id, ...rect(reg.getGraphics(e)) }))
    .filter((r) => r.right > r.left || r.bottom > r.top);
  const entries = [...document.querySelectorAll('#canvas .djs-palette .entry')].map(rect)
    .filter((r) => r.right > r.left);
  return { canvas: rect(document.getElementById('canvas')), main: rect(document.querySelector('main')),
           props: rect(document.getElementById('props')), shapes, entries };
}"""


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


def _check_fitted(g: dict[str, Any]) -> None:
    c = g["canvas"]
    assert g["shapes"] and g["entries"]
    box = {"left": min(s["left"] for s in g["shapes"]), "top": min(s["top"] for s in g["shapes"]),
           "right": max(s["right"] for s in g["shapes"]), "bottom": max(s["bottom"] for s in g["shapes"])}
    assert c["left"] - 1 <= box["left"] and box["right"] <= c["right"] + 1, (box, c)  # 1 px: rounding
    assert c["top"] - 1 <= box["top"] and box["bottom"] <= c["bottom"] + 1, (box, c)
    hidden = [(s["id"], e) for s in g["shapes"] for e in g["entries"] if _overlap(s, e)]
    assert hidden == []


@pytest.mark.parametrize("process_id", ["registration", "cancellation"])
def test_the_diagram_is_fitted_beside_the_palette_at_1280(
        web_world: World, new_page: NewPage, process_id: str) -> None:
    # issue 12 §8 (editor ergonomics), no rule row
    admin = new_page()
    assert admin.viewport_size == {"width": 1280, "height": 900}
    sign_in(admin, "admin01")
    admin.goto(f"/admin/processes/{process_id}")
    expect(admin.locator("#editor")).to_have_attribute("data-ready", "true")
    g = admin.evaluate(GEOMETRY)
    _check_fitted(g)
    # the page width: the canvas and the fixed 300 px panel fill the content area
    assert g["props"]["right"] - g["props"]["left"] == pytest.approx(300, abs=2)
    assert g["main"]["right"] - g["props"]["right"] < 40
    assert g["canvas"]["right"] - g["canvas"]["left"] >= 700

    admin.get_by_role("button", name="隐藏属性面板").click()
    expect(admin.locator("#props")).to_be_hidden()
    wide = admin.evaluate(GEOMETRY)
    assert wide["canvas"]["right"] - wide["canvas"]["left"] >= 1000
    _check_fitted(wide)
    admin.get_by_role("button", name="显示属性面板").click()
    expect(admin.locator("#props")).to_be_visible()
    _check_fitted(admin.evaluate(GEOMETRY))
