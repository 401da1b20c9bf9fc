"""Thin ``flask`` commands that call services."""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

import click
from flask import Flask
from flask import current_app
from flask import g
from flask.cli import with_appcontext

from app.models import canonical_username
from app.resources import MissingResource
from app.services.accounts import staff
from app.services.backoffice import definitions
from app.services.errors import DomainError
from app.services.platform import audit
from app.services.platform import seed as seed_service
from app.sweeper import scheduler


def _remember_options(directory: str | None, x_arg: tuple[str, ...]) -> None:
    g.directory = directory  # what Flask-Migrate's own ``db`` group does; its commands read them
    g.x_arg = x_arg


class MigrateCommands(click.Group):
    """``flask db …`` (Flask-Migrate), loaded when such a command runs, so that serving pages
    never imports Alembic (docs/performance.md, Memory)."""

    def __init__(self, app: Flask) -> None:
        super().__init__("db", help="数据库迁移（Alembic）。", callback=with_appcontext(_remember_options),
                         params=[click.Option(["-d", "--directory"], default=None, help="迁移脚本目录"),
                                 click.Option(["-x", "--x-arg"], multiple=True, help="传给 env.py 的参数")])
        self._app = app

    def _group(self) -> click.Group:
        self._app.extensions["migrate"]  # sets Flask-Migrate up (see app._Extensions)
        from flask_migrate.cli import db as migrate_commands

        group: click.Group = migrate_commands
        return group

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._group().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._group().get_command(ctx, cmd_name)


def init_app(app: Flask) -> None:
    app.cli.add_command(bpmn)
    app.cli.add_command(seed)
    app.cli.add_command(scheduler)
    app.cli.add_command(audit_group)
    app.cli.add_command(users)
    app.cli.add_command(processes)


@click.group()
def bpmn() -> None:
    """流程图：加载与校验。"""


@bpmn.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def bpmn_validate(files: tuple[Path, ...]) -> None:
    """Check diagrams as an upload is checked; exit 1 if any is refused."""
    problems = definitions.check_files(list(files))
    for p in problems:
        click.echo(str(p))
    if problems:
        click.echo(f"{len(problems)} 个问题，流程图被拒绝", err=True)
        sys.exit(1)
    click.echo(f"{len(files)} 个流程图全部通过校验")


@bpmn.command("load")
@with_appcontext
def bpmn_load() -> None:
    """Load bpmn/ and forms/ as version 1 of each definition (idempotent); exit 1 when the
    diagrams are not installed."""
    try:
        loaded = definitions.load_baseline()
    except MissingResource as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("已加载：" + (", ".join(loaded) if loaded else "无（均已存在）"))


@click.group()
def processes() -> None:
    """业务流程：测试用例与发布。"""


@processes.command("test")
@click.argument("process_id", required=False)
@with_appcontext
def processes_test(process_id: str | None) -> None:
    """Run the test cases of one process (or of every process) against its published
    version; print a summary in Chinese and exit 1 on any failure or unreached element."""
    from app.services.backoffice import cases
    from app.services.errors import DomainError

    ids = [process_id] if process_id else cases.process_ids_with_cases()
    failed = False
    for pid in ids:
        try:
            report = cases.run_published(pid)
        except DomainError as exc:
            click.echo(f"{pid}：{exc.message}")
            failed = True
            continue
        click.echo(f"{pid}：{report.passed} 个用例通过，{report.failed} 个失败")
        for r in report.results:
            if not r.ok:
                click.echo(f"  ✗ {r.key}（{r.name}）：{r.detail}")
        if not report.results:
            click.echo("  该流程没有测试用例")
        if report.uncovered:
            click.echo("  没有用例到达的元素：" + "、".join(report.uncovered))
        failed = failed or not report.ok
    click.echo("测试用例未全部通过" if failed else "测试用例全部通过", err=failed)
    sys.exit(1 if failed else 0)


def _exceptions(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        element, _sep, reason = value.partition("=")
        out[element.strip()] = reason.strip()
    return out


@processes.command("publish")
@click.argument("process_id")
@click.option("--author", default=None, help="以该系统管理员的名义发布（用户名；默认：第一个系统管理员）")
@click.option("--from-files", is_flag=True, help="以安装包中的流程图、表单和测试用例为草稿（默认：最新发布的版本）")
@click.option("--note", default="", help="修改说明")
@click.option("--exception", "exceptions", multiple=True, metavar="元素编号=理由",
              help="没有测试用例到达的元素列为例外（可多次；理由必填，记入审计日志和版本）")
@with_appcontext
def processes_publish(process_id: str, author: str | None, from_files: bool, note: str,
                      exceptions: tuple[str, ...]) -> None:
    """Open a draft of the process, run its test cases here and publish it as the editor's
    发布 does (audited); exit 1 with the reasons in Chinese when it cannot be published."""
    from app.services.backoffice import release

    try:
        outcome = release.publish(author, process_id, from_files=from_files, note=note,
                                  exceptions=_exceptions(exceptions))
    except DomainError as exc:
        click.echo(f"{process_id}：不能发布：{exc.message}", err=True)
        sys.exit(1)
    if outcome.version is None:
        click.echo(f"{process_id}：不能发布", err=True)
        for reason in outcome.reasons:
            click.echo(f"  {reason}", err=True)
        sys.exit(1)
    passed = (outcome.run.results or {}).get("passed", 0) if outcome.run else 0
    click.echo(f"{process_id}：{passed} 个测试用例通过，已发布版本 {outcome.version}")


def _pad(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal columns (a Chinese character takes two)."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - used, 0)


@click.command("seed")
@with_appcontext
@click.option("--demo/--no-demo", default=None, help="也生成演示数据（仅开发环境；默认：开发环境生成）")
def seed(demo: bool | None) -> None:
    """Reference data (catalogues, calendar, diagrams) and, in development, the demo world
    (its accounts have published passwords: production refuses it); idempotent."""
    development = current_app.config.get("MEDREG_ENV") == "development"
    if demo and not development:
        raise click.ClickException("演示数据（公开的演示账户和密码）只能在开发环境生成（MEDREG_ENV=development）")
    try:
        seed_service.seed_reference()
    except MissingResource as exc:
        raise click.ClickException(str(exc)) from None
    if not (development if demo is None else demo):
        return
    world = seed_service.seed_demo(current_app.config["MEDREG_UPLOAD_DIR"])
    click.echo("演示数据" + ("已生成" if world.created else "已存在"))
    click.echo("演示账户（用户名 / 密码 / 角色 / 说明）：")
    for username, password, role, note in world.accounts:
        click.echo(f"  {username:<10} {password:<12} {_pad(role, 10)} {note}")
    click.echo("可用来试用“个人用户注册”的医师（姓名 / 身份证号 / 资格证书编码 / 激活方式）：")
    for name, id_number, cert_no, how in world.identities:
        click.echo(f"  {name} {id_number} {cert_no} {how}")


@click.group("audit")
def audit_group() -> None:
    """审计日志。"""


@audit_group.command("verify")
@click.option("--anchor", "anchor_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="同时核对锚点文件（audit anchor 写下的每一行）")
@with_appcontext
def audit_verify(anchor_file: Path | None) -> None:
    """Check the audit log's hash chain (and its anchors); exit 1 when it was tampered with."""
    bad = audit.verify()
    if bad:
        click.echo("审计日志被篡改，异常记录：" + ", ".join(map(str, bad)))
    problems = _anchor_problems(anchor_file) if anchor_file is not None else []
    if problems:
        click.echo("审计日志与锚点不符（被截断或改写）：")
        for line in problems:
            click.echo("  " + line)
    if bad or problems:
        sys.exit(1)
    click.echo("审计日志完整" + ("，与锚点文件一致" if anchor_file is not None else ""))


def _anchor_problems(path: Path) -> list[str]:
    """One line of Chinese per anchor the log disagrees with (or that cannot be read)."""
    out: list[str] = []
    seen = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        seen += 1
        try:
            anchor = audit.Anchor.from_json(line)
        except ValueError:
            out.append(f"锚点文件第 {number} 行无法识别")
            continue
        problem = audit.check_anchor(anchor)
        if problem is not None:
            out.append(f"第 {number} 行锚点（{anchor.at}，第 {anchor.event_id} 号事件）：" + _explain(problem))
    if not seen:
        out.append(f"锚点文件 {path} 中没有锚点")
    return out


def _explain(p: audit.AnchorProblem) -> str:
    a = p.anchor
    if p.kind == "truncated":
        return f"该事件已不存在，最新记录只到第 {p.found} 号，其后的记录被删除"
    if p.kind == "missing":
        return "该事件已不存在，记录被删除"
    if p.kind == "rewritten":
        return "该事件的哈希与锚点不符，它或它之前的记录被改写"
    return f"锚点时截至该事件共 {a.count} 条记录，现在是 {p.found} 条"


@audit_group.command("anchor")
@click.option("--file", "anchor_file", type=click.Path(dir_okay=False, path_type=Path),
              help="把锚点追加到此文件（默认输出到屏幕）")
@with_appcontext
def audit_anchor(anchor_file: Path | None) -> None:
    """Write the chain's current head as one JSON line, to keep outside the database."""
    anchor = audit.anchor()
    if anchor_file is None:
        click.echo(anchor.to_json())
        return
    with anchor_file.open("a", encoding="utf-8") as fh:
        fh.write(anchor.to_json() + "\n")
    click.echo(f"已追加锚点：第 {anchor.event_id} 号事件，共 {anchor.count} 条记录 → {anchor_file}")


@click.group()
def users() -> None:
    """账户管理。"""


@users.command("create-admin")
@click.option("--username", required=True, help="系统管理员的用户名（4–30 位字母、数字或下划线，以字母开头）")
@click.option("--display-name", default="系统管理员", show_default=True, help="姓名或科室名称")
@click.option("--password-stdin", is_flag=True, required=True,
              help="从标准输入读取密码（第一行），不出现在命令行和历史记录中")
@with_appcontext
def users_create_admin(username: str, display_name: str, password_stdin: bool) -> None:
    """Create an administrator (the first one of an install) with the password read from stdin."""
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        staff.create_admin(username, password, display_name)
    except DomainError as exc:
        details = "；".join(exc.errors.values())
        raise click.ClickException(exc.message + (f"：{details}" if details else "")) from None
    click.echo(f"已创建系统管理员 {canonical_username(username)}")
