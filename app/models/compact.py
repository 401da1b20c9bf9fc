"""Column types that store a value in fewer bytes and keep its Python interface.

- :class:`ZlibText`: a ``str`` column (a workflow state: JSON of about 10 KiB while an
  application is open) stored zlib-compressed in a binary column, primed with a preset
  dictionary of typical states (app/models/state_dictionary.py): about 8× smaller open, 5×
  finished. Callers read and write plain text; the compression is the column's business.
- :class:`ZlibJSON`: a JSON ``dict`` column stored the same way (an application's data: the
  form's fields, about 0.6 KiB as text, 0.3 KiB compressed); no SQL reads inside it.
- :class:`HexDigest`: a SHA-256 hex digest (64 characters) stored as its 32 bytes.

All three bind through the column's type, so hand-written statements (``insert(...).values``,
``bindparam(type_=...)``) store the same bytes as the ORM.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from sqlalchemy import LargeBinary
from sqlalchemy import TypeDecorator

from app.models.state_dictionary import DICTIONARY_1

LEVEL = 6  # zlib level: about 0.2 KiB smaller a state than level 1, for about 40 µs more
PACKED = "zlib:"  # an older text form: zlib, then base64 (finished states before migration 0029)
_ZLIB_METHOD = 0x78  # the first byte of every zlib stream this type writes (deflate, 32 KiB window)
_FDICT = 0x20  # the flag (second byte) of a stream written with a preset dictionary
# every dictionary ever shipped, by the Adler-32 zlib writes into the stream; the last one writes
DICTIONARIES: dict[int, bytes] = {zlib.adler32(d): d for d in (DICTIONARY_1,)}
_WRITE = DICTIONARY_1


class UnknownDictionary(ValueError):
    """A stored state names a preset dictionary this version does not have."""


def compress(text: str) -> bytes:
    """The stored bytes of ``text`` (an older packed text is stored as its zlib bytes, not
    compressed twice)."""
    if text.startswith(PACKED):
        return base64.b64decode(text[len(PACKED):])
    z = zlib.compressobj(LEVEL, zdict=_WRITE)
    return z.compress(text.encode("utf-8")) + z.flush()


def decompress(stored: bytes | str) -> str:
    """The text of stored bytes; a value that is not a zlib stream (text written by hand, e.g.
    a benchmark's bulk insert: JSON, which starts with ``{``) is read as UTF-8 text."""
    if isinstance(stored, str):
        return stored
    raw = bytes(stored)
    if len(raw) < 6 or raw[0] != _ZLIB_METHOD:
        return raw.decode("utf-8")
    if not raw[1] & _FDICT:
        return zlib.decompress(raw).decode("utf-8")
    zdict = DICTIONARIES.get(int.from_bytes(raw[2:6], "big"))
    if zdict is None:
        raise UnknownDictionary(f"流程状态使用了未知的压缩字典 {int.from_bytes(raw[2:6], 'big')}")
    z = zlib.decompressobj(zdict=zdict)
    return (z.decompress(raw) + z.flush()).decode("utf-8")


class ZlibText(TypeDecorator[str]):
    """Text stored zlib-compressed (BLOB on SQLite, bytea on PostgreSQL, where TOAST does not
    compress it again)."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> bytes | None:
        return None if value is None else compress(value)

    def process_result_value(self, value: bytes | str | None, dialect: Any) -> str | None:
        return None if value is None else decompress(value)


class ZlibJSON(TypeDecorator[dict[str, Any]]):
    """A JSON object stored as compact JSON text, compressed like :class:`ZlibText`."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Any) -> bytes | None:
        if value is None:
            return None
        return compress(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def process_result_value(self, value: bytes | str | None, dialect: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        data: dict[str, Any] = json.loads(decompress(value))
        return data


class HexDigest(TypeDecorator[str]):
    """A hex digest (``str``, lower case) stored as its bytes: 32 instead of 64 for SHA-256."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> bytes | None:
        return None if value is None else bytes.fromhex(value)

    def process_result_value(self, value: bytes | str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return value if isinstance(value, str) else bytes(value).hex()
