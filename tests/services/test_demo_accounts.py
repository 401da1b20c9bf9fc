"""`make run` (flask seed) prints every demo account with its role and what it is for, the
README lists the same accounts, and each one signs in (issue 13 item 9); the README's tour
names the buttons the pages show (审查决定 → 准予)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from flask import Flask

from app.services.platform import seed
from tests.conftest import WebClient

ROOT = Path(__file__).resolve().parents[2]


def _readme_accounts() -> dict[str, tuple[str, str]]:
    """username -> (password, role) from the README's 演示账户 table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("## Demo accounts"):]
    table = table[:table.index("\n\n", table.index("|"))]
    out = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 4 and cells[1] not in ("密码", "---"):
            for name in cells[0].split(" / "):
                out[name] = (cells[1], cells[2])
    return out


def test_the_printout_names_every_account_with_its_role(app: Flask, clean_db: None) -> None:
    result = app.test_cli_runner().invoke(args=["seed", "--demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        listed = seed.demo_accounts()
    readme = _readme_accounts()
    assert {u for u, *_ in listed} == set(readme)  # the README and the printout agree
    for username, password, role, note in listed:
        line = next(ln for ln in result.output.splitlines() if ln.split()[:1] == [username])
        assert password in line and role in line and note in line
        assert readme[username] == (password, role), username
        client = WebClient(app.test_client())  # and the printed password signs in
        resp = client.login(username, password)
        assert resp.status_code == 302 and "/login" not in resp.headers["Location"], username
    # the second institution's account says which institution it is
    assert any(u == "jigou02x" and "太原市小店区北营社区卫生服务中心" in n for u, _p, _r, n in listed)


def test_the_readme_tour_names_the_decision_button() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    decide = json.loads((ROOT / "forms" / "commission_decide.json").read_text(encoding="utf-8"))
    labels = set(decide["properties"]["decision"]["x-labels"].values())
    named = re.findall(r"审查决定 → (\S+?)[.,。，]", text)
    assert named and set(named) <= labels, named
