"""Template text known when a template is compiled: ``{{ _("待办任务") }}`` becomes the text itself.

The one locale, zh_CN, has no message catalogue: the msgids are the Chinese text the guide uses,
so ``_()`` of a literal gives back that literal on every request. A page calls it about a
hundred times, and each call costs a context look-up, a ``Markup`` and a ``%`` format
(docs/performance.md, "The reads of a page"). This extension replaces, in the token stream,
a call of ``_`` with one string literal and nothing else by that literal. Calls with
variables (``_("逾期 %(n)s 天", n=…)``), with ``%``, or with a character HTML escapes are left to
the runtime ``_``, so the output is the same byte for byte: a literal without ``< > & ' "`` is
not changed by autoescaping.

It is installed only while there is no compiled catalogue (``app/translations``); a
translated deployment gets the runtime ``_`` everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from jinja2.ext import Extension
from jinja2.lexer import Token
from jinja2.lexer import TokenStream

UNSAFE = frozenset("<>&'\"%")


def foldable(text: str) -> bool:
    """Whether the runtime ``_(text)`` is ``text`` after escaping, whatever the context."""
    return not UNSAFE.intersection(text)


def has_catalogue(root: Path) -> bool:
    """Whether the app ships a compiled translation (then nothing is folded)."""
    return any((root / "translations").glob("*/LC_MESSAGES/*.mo"))


class FoldLiteralGettext(Extension):
    """``_("text")`` → ``"text"`` at compile time (see the module docstring)."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        held: list[Token] = []  # the tokens of a possible ``_ ( "text" )`` seen so far
        after_dot = False
        for token in stream:
            if not held:
                if token.type == "name" and token.value == "_" and not after_dot:
                    held.append(token)
                else:
                    yield token
                after_dot = token.type == "dot"
                continue
            held.append(token)
            shape = [t.type for t in held]
            if shape == ["name", "lparen"] or (shape == ["name", "lparen", "string"]
                                               and foldable(str(token.value))):
                continue
            if shape == ["name", "lparen", "string", "rparen"]:
                yield Token(held[2].lineno, "string", held[2].value)
            else:  # not ``_`` of one plain literal: the tokens go on unchanged
                yield from held
            held.clear()
            after_dot = False
        yield from held
