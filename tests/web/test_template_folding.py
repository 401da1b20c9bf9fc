"""Template text resolved when a template is compiled (issue 14 goal 1: the reads of a page).

``{{ _("待办任务") }}`` is the literal itself in the compiled template; what the person reads
is the same as with the runtime ``_``."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from jinja2 import Environment

from app.web.folding import FoldLiteralGettext
from app.web.folding import has_catalogue
from tests.conftest import WebClient
from tests.factories import World

SOURCE = ('{{ _("待办任务") }}|{{ _("a&b") }}|{{ _("逾期 %(n)s 天", n=3) }}|{{ _("100%%") }}|'
          '{% set label = _("姓名") %}{{ label }}|{{ _(v) }}|<a title="{{ _(\'提交\') }}">|{{ x._("y") }}')


def _env(fold: bool) -> Environment:
    env = Environment(extensions=["jinja2.ext.i18n", *([FoldLiteralGettext] if fold else [])],
                      autoescape=True)
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    return env


class _Obj:
    def _(self, text: str) -> str:
        return f"[{text}]"


def test_folded_templates_render_exactly_what_the_runtime_gettext_renders() -> None:
    values = {"v": "<i>", "x": _Obj()}
    folded, runtime = _env(True).from_string(SOURCE), _env(False).from_string(SOURCE)
    assert folded.render(values) == runtime.render(values)
    assert folded.render(values).startswith("待办任务|a&b|逾期 3 天|100%|姓名|<i>|<a title=\"提交\">|[y]")


def test_only_plain_literals_are_folded() -> None:
    code = _env(True).compile(SOURCE, raw=True).splitlines()
    calls = [line for line in code if "context.call(" in line]
    for folded in ("待办任务", "姓名", "提交"):  # in the compiled template as text, not as a call
        assert any(folded in line for line in code) and not any(folded in line for line in calls)
    for kept in ("a&b", "逾期 %(n)s 天", "100%%"):  # escaping or formatting would change them
        assert any(repr(kept) in line for line in calls), kept


def test_a_translated_deployment_keeps_the_runtime_gettext(tmp_path: Path) -> None:
    assert not has_catalogue(tmp_path)
    catalogue = tmp_path / "translations" / "en" / "LC_MESSAGES"
    catalogue.mkdir(parents=True)
    (catalogue / "messages.mo").write_bytes(b"")
    assert has_catalogue(tmp_path)


def test_the_app_folds_and_its_pages_read_the_same(app: Flask, web_world: World) -> None:
    assert FoldLiteralGettext in {type(e) for e in app.jinja_env.extensions.values()}
    client = WebClient.signed_in(app, "jigou01")
    page = client.get("/inbox/").get_data(as_text=True)
    for text in ("待办任务", "办理", "退出"):  # the layout's menu, the list's buttons, the header
        assert text in page
