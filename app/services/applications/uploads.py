"""The files of one submission: held in the sender's temp area until the submission is accepted.

A refused submission must not grow the store. New uploads are checked, then written to
``<upload dir>/staging/<user id>/<sha256>``. Only when a service is about to commit an accepted
submission do they enter the store (:func:`app.services.applications.attachments.path_of`) with their
``Attachment`` rows; if that commit fails, the store files it created are removed again.

When the form is shown again with its messages (:class:`~app.services.errors.InvalidInput`), the attempt's
files stay in the temp area, so the person can re-submit them without choosing them again (the
signed "kept" reference of ``app.web.common.sign_kept``). Any other refusal (eligibility, a
failed step, a database error) removes them in the same request. The temp area of a user holds
one attempt: the next attempt with files replaces it, and :func:`sweep` removes whatever is older
than :data:`KEEP_SECONDS` (run by the timer sweeper and, at most once a minute, by submissions).

Each person may store at most :data:`DAILY_LIMIT_MB` MB of files per day (Beijing time).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.models import Attachment
from app.services.applications import attachments
from app.services.applications.attachments import Upload
from app.services.engine.clock import CST
from app.services.engine.clock import today_cst

STAGING = "staging"
KEEP_SECONDS = 3600
SWEEP_EVERY_SECONDS = 60.0
DAILY_LIMIT_MB = 100
DAILY_LIMIT_BYTES = DAILY_LIMIT_MB * 1024 * 1024
_last_sweep: list[float] = []


def over_limit_message() -> str:
    return (f"您今天上传的文件已达到每日 {DAILY_LIMIT_MB} MB 的上限，"
            "此文件未能保存，请明天再上传")


def staging_dir(upload_dir: str, user_id: int | None) -> Path:
    """The temp area of one person (user id 0: the system)."""
    return Path(upload_dir) / STAGING / str(user_id or 0)


def stored_today(user_id: int | None) -> int:
    """Bytes this person's accepted submissions stored since midnight, Beijing time."""
    since = datetime.combine(today_cst(), clock_time(0), CST).astimezone(UTC)
    total = db.session.scalar(select(func.coalesce(func.sum(Attachment.size), 0)).where(
        Attachment.uploaded_by_id == user_id, Attachment.created_at >= since))
    return int(total or 0)


def sweep(upload_dir: str, now: float | None = None) -> int:
    """Remove temp files older than :data:`KEEP_SECONDS` (and emptied temp areas);
    returns how many files went."""
    root = Path(upload_dir) / STAGING
    if not root.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - KEEP_SECONDS
    removed = 0
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        try:
            folder.rmdir()  # only when empty
        except OSError:
            pass
    return removed


def _sweep_now_and_then(upload_dir: str) -> None:
    now = time.monotonic()
    if _last_sweep and now - _last_sweep[0] < SWEEP_EVERY_SECONDS:
        return
    _last_sweep[:] = [now]
    sweep(upload_dir)


def _write(folder: Path, name: str, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _place(src: Path, dst: Path) -> bool:
    """Put ``src``'s content at ``dst`` in the store; True if this call created ``dst``."""
    if dst.exists():
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except FileExistsError:
        return False
    except OSError:  # a filesystem without hard links
        _write(dst.parent, dst.name, src.read_bytes())
    return True


def _referenced(sha: str) -> bool:
    """Whether a committed row names this content (when unsure: yes, so it is kept)."""
    try:
        return db.session.scalar(select(Attachment.id).where(
            Attachment.sha256 == sha).limit(1)) is not None
    except SQLAlchemyError:
        db.session.rollback()
        return True


@dataclass
class _Item:
    ref: dict[str, Any]
    staged: bool  # in the temp area (else already in the store)
    new: bool  # uploaded in this request (else kept from an earlier attempt)


class Batch:
    """The files of one submission by ``user_id``; see the module docstring."""

    def __init__(self, upload_dir: str, user_id: int | None) -> None:
        self.upload_dir = upload_dir
        self.user_id = user_id
        self._items: list[_Item] = []
        self._created: list[Path] = []
        self._room: int | None = None
        self._active = False

    @property
    def folder(self) -> Path:
        return staging_dir(self.upload_dir, self.user_id)

    def begin(self, kept: list[dict[str, Any]]) -> None:
        """This attempt replaces the temp area: only files it re-submits stay."""
        self._active = True
        keep = {str(ref.get("sha256", "")) for ref in kept}
        if self.folder.is_dir():
            for path in self.folder.iterdir():
                if path.name not in keep:
                    path.unlink(missing_ok=True)
        _sweep_now_and_then(self.upload_dir)

    def _fits(self, size: int) -> bool:
        if self._room is None:
            self._room = DAILY_LIMIT_BYTES - stored_today(self.user_id)
        if size > self._room:
            return False
        self._room -= size
        return True

    def add(self, upload: Upload) -> dict[str, Any] | str:
        """Hold a checked upload in the temp area; its reference, or a message when it
        would pass the daily limit."""
        if not self._fits(len(upload.data)):
            return over_limit_message()
        digest = hashlib.sha256(upload.data).hexdigest()
        _write(self.folder, digest, upload.data)
        kind = attachments.sniff(upload.data)
        ref = {"sha256": digest, "name": os.path.basename(upload.filename)[:200],
               "size": len(upload.data), "mime": kind[0] if kind else "application/octet-stream"}
        self._items.append(_Item(ref, staged=True, new=True))
        return ref

    def keep(self, ref: dict[str, Any]) -> dict[str, Any] | str | None:
        """Re-use a file of an earlier attempt (its signed reference was checked by the
        caller): from the store, or from this person's temp area. None when it is gone."""
        sha = str(ref.get("sha256", ""))
        try:
            stored = attachments.path_of(self.upload_dir, sha)
        except ValueError:
            return None
        staged = self.folder / sha
        if stored.exists():
            path, in_temp = stored, False
        elif staged.exists():
            path, in_temp = staged, True
        else:
            return None
        size = path.stat().st_size
        if in_temp:
            if not self._fits(size):
                return over_limit_message()
            os.utime(path)  # kept for another while
        with path.open("rb") as fh:
            head = fh.read(16)
        clean = {"sha256": sha, "name": str(ref.get("name", ""))[:200], "size": size,
                 "mime": (attachments.sniff(head) or ("",))[0]}
        self._items.append(_Item(clean, staged=in_temp, new=False))
        return clean

    def promote(self) -> None:
        """The submission is accepted: its files enter the store with their rows (flushed).
        Call just before the commit."""
        for item in self._items:
            sha = item.ref["sha256"]
            if item.staged and _place(self.folder / sha, attachments.path_of(self.upload_dir, sha)):
                self._created.append(attachments.path_of(self.upload_dir, sha))
            if item.new or not db.session.scalar(select(Attachment.id).where(
                    Attachment.sha256 == sha, Attachment.uploaded_by_id == self.user_id).limit(1)):
                db.session.add(Attachment(sha256=sha, filename=item.ref["name"],
                                          mime=item.ref["mime"], size=item.ref["size"],
                                          uploaded_by_id=self.user_id))
        db.session.flush()

    def accepted(self) -> None:
        """After the commit: the temp area is empty again."""
        if self._active:
            shutil.rmtree(self.folder, ignore_errors=True)

    def refused(self, shown_again: bool) -> None:
        """After the rollback: store files created for this attempt go (unless a committed
        submission uses the same content); the attempt's temp files stay only when the form
        is shown again with them."""
        for path in self._created:
            if not _referenced(path.name):
                path.unlink(missing_ok=True)
        self._created.clear()
        if self._active and not shown_again:
            for item in self._items:
                if item.staged:
                    (self.folder / item.ref["sha256"]).unlink(missing_ok=True)
