"""The audit chain is keyed (MEDREG_AUDIT_KEY) and anchored outside the database: a row rewritten
with the chain recomputed by someone without the key, or the newest events deleted after an
anchor, is reported by ``flask audit verify`` with exit code 1."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import String
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import type_coerce

from app import create_app
from app.extensions import db
from app.models import AuditEvent
from app.models.base import utcnow
from app.services.platform import audit
from tests import conftest

Digest = Callable[[str, AuditEvent], str]
KEY = "prod-key-7f3a9c"


def _body(prev: str, ev: AuditEvent) -> bytes:
    """The event as the chain covers it (the algorithm is public; only the key is secret)."""
    return json.dumps([prev, ev.at.replace(microsecond=0).isoformat(), ev.actor_name, ev.action,
                       ev.object_type, ev.object_id, ev.detail],
                      ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")


def plain_sha256(prev: str, ev: AuditEvent) -> str:
    return hashlib.sha256(_body(prev, ev)).hexdigest()


def hmac_with(key: str) -> Digest:
    return lambda prev, ev: hmac.new(key.encode(), _body(prev, ev), hashlib.sha256).hexdigest()


def _record(n: int, start: int = 0) -> list[int]:
    ids = [audit.record(None, "registration.change", "registration", start + i,
                        {"field": "department", "value": f"科室{start + i}"}).id for i in range(n)]
    db.session.commit()
    return ids


def _ids() -> list[int]:
    return list(db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))


def _rewrite(victim: int, detail: dict[str, str], digest: Digest) -> None:
    """An attacker with write access: change one row, then recompute the chain from it on."""
    db.session.execute(text("UPDATE audit_event SET detail = :d WHERE id = :i"),
                       {"d": json.dumps(detail, ensure_ascii=False), "i": victim})
    db.session.commit()
    db.session.remove()
    prev = db.session.scalar(select(AuditEvent.hash).where(AuditEvent.id < victim)
                             .order_by(AuditEvent.id.desc()).limit(1)) or audit.GENESIS
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.id >= victim).order_by(AuditEvent.id)).all()
    for ev in rows:
        ev.prev_hash, ev.hash = prev, digest(prev, ev)
        prev = ev.hash
    db.session.commit()
    db.session.remove()


def _delete_from(first: int) -> None:
    db.session.execute(text("DELETE FROM audit_event WHERE id >= :i"), {"i": first})
    db.session.commit()
    db.session.remove()


def _verify(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


# ---- the key --------------------------------------------------------------------------------


@pytest.mark.parametrize("forger", [plain_sha256, hmac_with("medreg-guess")], ids=["sha256", "wrong-key"])
def test_a_rewrite_recomputed_without_the_key_is_reported(ctx: Flask, monkeypatch: pytest.MonkeyPatch,
                                                          forger: Digest) -> None:
    monkeypatch.setitem(ctx.config, "MEDREG_AUDIT_KEY", KEY)
    ids = _record(6)
    victim = ids[2]
    _rewrite(victim, {"field": "department", "value": "伪造科室"}, forger)
    result = _verify(ctx)
    assert result.exit_code == 1, result.output
    assert "审计日志被篡改" in result.output and str(victim) in result.output, result.output
    assert "审计日志完整" not in result.output
    # The control: the same forgery with the configured key is indistinguishable, so what stops
    # the forger above is the key, not a slip in the rewrite. Anchors cover that case (below).
    _rewrite(victim, {"field": "department", "value": "伪造科室"}, hmac_with(KEY))
    assert _verify(ctx).output.strip() == "审计日志完整"


def test_the_chain_is_keyed_with_medreg_audit_key_from_the_configuration(
        ctx: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ctx.config, "MEDREG_AUDIT_KEY", KEY)
    ids = _record(3)
    ok = _verify(ctx)
    assert ok.exit_code == 0 and "审计日志完整" in ok.output, ok.output
    stored = db.session.scalars(select(AuditEvent)).all()
    assert all(KEY not in json.dumps([e.detail, e.hash, e.prev_hash, e.actor_name]) for e in stored)
    monkeypatch.setitem(ctx.config, "MEDREG_AUDIT_KEY", "another-key")
    other = _verify(ctx)
    assert other.exit_code == 1 and "审计日志被篡改" in other.output, other.output
    assert all(str(i) in other.output for i in ids)
    monkeypatch.delitem(ctx.config, "MEDREG_AUDIT_KEY")  # development: the fixed development key
    assert audit.verify() == ids
    assert audit.chain_key() == audit.DEV_AUDIT_KEY.encode()


# ---- anchors --------------------------------------------------------------------------------


def test_deleting_the_newest_events_after_an_anchor_is_reported(ctx: Flask, tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.jsonl"
    runner = ctx.test_cli_runner()
    ids = _record(5)
    made = runner.invoke(args=["audit", "anchor", "--file", str(anchors)])
    assert made.exit_code == 0 and f"第 {ids[-1]} 号事件，共 5 条记录" in made.output, made.output
    ok = _verify(ctx, "--anchor", str(anchors))
    assert ok.exit_code == 0 and ok.output.strip() == "审计日志完整，与锚点文件一致", ok.output
    _record(2, start=5)  # the log grows after the anchor: still consistent
    assert _verify(ctx, "--anchor", str(anchors)).exit_code == 0

    _delete_from(ids[3])  # the two newest anchored events and everything after them
    assert _verify(ctx).output.strip() == "审计日志完整"  # a shorter chain is still a chain...
    bad = _verify(ctx, "--anchor", str(anchors))  # ...but not the one the anchor saw
    assert bad.exit_code == 1, bad.output
    assert "审计日志与锚点不符" in bad.output and f"第 {ids[-1]} 号事件" in bad.output, bad.output
    assert f"最新记录只到第 {ids[2]} 号，其后的记录被删除" in bad.output, bad.output
    assert "审计日志完整" not in bad.output


def test_truncation_hidden_by_new_events_is_still_reported(ctx: Flask, tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.jsonl"
    ids = _record(4)
    ctx.test_cli_runner().invoke(args=["audit", "anchor", "--file", str(anchors)])
    _delete_from(ids[2])
    later = _record(3, start=10)  # ordinary work goes on; the ids may be reused (SQLite) or not (PostgreSQL)
    # The head row (audit_head) still holds the deleted event's hash, so the next event links to
    # it and the gap shows even without an anchor; an attacker who also rewrites the head row
    # leaves an intact chain, which the anchor below still catches.
    assert audit.verify() == [later[0]]
    bad = _verify(ctx, "--anchor", str(anchors))
    assert bad.exit_code == 1 and "审计日志与锚点不符" in bad.output, bad.output
    assert ("记录被删除" in bad.output) or ("被改写" in bad.output), bad.output


def test_a_rewrite_by_someone_with_the_key_is_caught_by_an_earlier_anchor(
        ctx: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(ctx.config, "MEDREG_AUDIT_KEY", KEY)
    anchors = tmp_path / "anchors.jsonl"
    runner = ctx.test_cli_runner()
    ids = _record(3)
    runner.invoke(args=["audit", "anchor", "--file", str(anchors)])
    ids += _record(3, start=3)
    runner.invoke(args=["audit", "anchor", "--file", str(anchors)])
    assert len(anchors.read_text(encoding="utf-8").splitlines()) == 2

    _rewrite(ids[1], {"field": "department", "value": "伪造科室"}, hmac_with(KEY))
    assert _verify(ctx).exit_code == 0  # the key leaked: the chain alone cannot tell
    bad = _verify(ctx, "--anchor", str(anchors))
    assert bad.exit_code == 1, bad.output
    for line, anchored in ((1, ids[2]), (2, ids[5])):
        assert f"第 {line} 行锚点" in bad.output and f"第 {anchored} 号事件）：该事件的哈希与锚点不符" in bad.output


def test_the_printed_anchor_is_the_head_of_the_chain(ctx: Flask) -> None:
    empty = json.loads(ctx.test_cli_runner().invoke(args=["audit", "anchor"]).output)
    assert (empty["event_id"], empty["hash"], empty["count"]) == (0, audit.GENESIS, 0)
    ids = _record(3)
    out = ctx.test_cli_runner().invoke(args=["audit", "anchor"])
    line = json.loads(out.output)
    head = db.session.get(AuditEvent, ids[-1])
    assert head is not None
    assert (line["event_id"], line["hash"], line["count"]) == (head.id, head.hash, 3)
    assert line["at"].endswith("+00:00")


def test_an_unreadable_or_empty_anchor_file_fails_the_check(ctx: Flask, tmp_path: Path) -> None:
    _record(2)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    res = _verify(ctx, "--anchor", str(empty))
    assert res.exit_code == 1 and "中没有锚点" in res.output, res.output
    garbled = tmp_path / "garbled.jsonl"
    garbled.write_text(ctx.test_cli_runner().invoke(args=["audit", "anchor"]).output + "{not json\n",
                       encoding="utf-8")
    res = _verify(ctx, "--anchor", str(garbled))
    assert res.exit_code == 1 and "锚点文件第 2 行无法识别" in res.output, res.output
    assert "第 1 行" not in res.output


def test_the_real_flask_commands_read_the_key_from_the_environment(app: Flask, clean_db: None,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    """An operator's ``MEDREG_AUDIT_KEY=… flask --app app audit anchor/verify`` on the test database."""
    monkeypatch.setitem(app.config, "MEDREG_AUDIT_KEY", KEY)
    with app.app_context():
        ids = _record(4)
    anchors = tmp_path / "anchors.jsonl"
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "MEDREG_CAPTCHA": "off",
           "MEDREG_ENV": "development", "MEDREG_UPLOAD_DIR": app.config["MEDREG_UPLOAD_DIR"], "MEDREG_AUDIT_KEY": KEY}
    flask = str(Path(sys.executable).with_name("flask"))

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([flask, "--app", "app", "audit", *args], env={**env, **extra},
                              capture_output=True, text=True, timeout=60, check=False)

    assert run("anchor", "--file", str(anchors)).returncode == 0
    ok = run("verify", "--anchor", str(anchors))
    assert ok.returncode == 0 and "审计日志完整，与锚点文件一致" in ok.stdout, ok.stderr[-2000:]
    wrong = run("verify", MEDREG_AUDIT_KEY="not-the-key")
    assert wrong.returncode == 1 and "审计日志被篡改" in wrong.stdout, wrong.stderr[-2000:]
    with app.app_context():
        _delete_from(ids[-1])
    bad = run("verify", "--anchor", str(anchors))
    assert bad.returncode == 1 and "其后的记录被删除" in bad.stdout, bad.stderr[-2000:]


# ---- the upgrade of a log written before the key ----------------------------------------------


def test_the_upgrade_rekeys_an_intact_legacy_chain_and_refuses_a_tampered_one(tmp_path: Path) -> None:
    for name, tamper in (("intact", False), ("tampered", True)):
        legacy = create_app({**conftest.test_config(tmp_path, f"sqlite:///{tmp_path / name}.db"),
                             "MEDREG_AUDIT_KEY": KEY})
        with legacy.app_context():
            upgrade(revision="0010")
            prev = audit.GENESIS
            for i in range(4):  # as the code before the key wrote them
                ev = AuditEvent(at=utcnow().replace(microsecond=0), actor_name="system",
                                action="registration.change", object_type="registration", object_id=str(i),
                                detail={"value": f"科室{i}"}, prev_hash=prev)
                ev.hash = plain_sha256(prev, ev)
                # as hex text, the way it was stored then (today's column type stores the bytes)
                db.session.execute(insert(AuditEvent).values(
                    at=ev.at, actor_name=ev.actor_name, action=ev.action, object_type=ev.object_type,
                    object_id=ev.object_id, detail=ev.detail, prev_hash=type_coerce(prev, String),
                    hash=type_coerce(ev.hash, String)))
                prev = ev.hash
            db.session.commit()
            if tamper:
                db.session.execute(text("UPDATE audit_event SET detail = '{\"value\": \"伪造\"}' WHERE id = 2"))
                db.session.commit()
            db.session.remove()
            result = legacy.test_cli_runner().invoke(args=["db", "upgrade"])
            if not tamper:
                assert result.exit_code == 0, result.output
                assert audit.verify() == []
                assert _verify(legacy).output.strip() == "审计日志完整"
            else:
                assert result.exit_code == 1
                assert "审计日志已被篡改，不能重新计算哈希链；异常记录：2" in result.output, result.output
                assert _verify(legacy).exit_code == 1  # still at 0010, still reported
            db.session.remove()
            db.engine.dispose()
