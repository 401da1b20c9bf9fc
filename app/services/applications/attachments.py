"""Uploaded files: checked by content, stored once under the instance folder by hash.

A submission's files reach the store through :mod:`app.services.applications.uploads` (only when it is
accepted); :func:`store` writes at once, for trusted callers (seed data, tests)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.extensions import db
from app.models import Attachment

_KINDS = (
    (b"%PDF-", "application/pdf", {".pdf"}),
    (b"\xff\xd8\xff", "image/jpeg", {".jpg", ".jpeg"}),
    (b"\x89PNG\r\n\x1a\n", "image/png", {".png"}),
)


@dataclass(frozen=True)
class Upload:
    """A file as posted: its name and bytes."""

    filename: str
    data: bytes


def sniff(data: bytes) -> tuple[str, set[str]] | None:
    """The MIME type and extensions that the content really is, or None."""
    for magic, mime, exts in _KINDS:
        if data.startswith(magic):
            return mime, exts
    return None


def check(upload: Upload, allowed: set[str], max_kb: int) -> str | None:
    """A Chinese message if the upload is refused, else None."""
    ext = os.path.splitext(upload.filename.lower())[1]
    if not upload.data:
        return "上传的文件是空的"
    if ext not in allowed:
        return f"只能上传 {'、'.join(sorted(e.lstrip('.') for e in allowed))} 格式的文件"
    kind = sniff(upload.data)
    if kind is None or ext not in kind[1]:
        return "文件内容与扩展名不符，请上传真实的文件"
    if len(upload.data) > max_kb * 1024:
        return f"文件不能超过 {max_kb} KB"
    return None


def store(upload_dir: str, upload: Upload, user_id: int | None) -> dict[str, Any]:
    """Write the file by content hash (flushes its row) and return its reference."""
    digest = hashlib.sha256(upload.data).hexdigest()
    path = Path(upload_dir) / digest[:2] / digest
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(upload.data)
        tmp.replace(path)
    kind = sniff(upload.data)
    mime = kind[0] if kind else "application/octet-stream"
    name = os.path.basename(upload.filename)[:200]
    db.session.add(Attachment(sha256=digest, filename=name, mime=mime, size=len(upload.data),
                              uploaded_by_id=user_id))
    db.session.flush()
    return {"sha256": digest, "name": name, "size": len(upload.data), "mime": mime}


def path_of(upload_dir: str, sha256: str) -> Path:
    """Where the store keeps this content; :class:`ValueError` for anything but a sha256."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("bad hash")
    return Path(upload_dir) / sha256[:2] / sha256
