"""定期考核 results, entered by the physician's main institution (医师法 第四十二条;
医师执业注册管理办法 第十一条): one at a time on a page, or many from a CSV file.

Only the institution of a physician's ACTIVE or SUSPENDED registration (the 主要执业机构)
may enter or change that physician's results; a cycle's result is kept once per physician
and entering it again changes it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import Assessment
from app.models import ImportJob
from app.models import Institution
from app.models import Registration
from app.models import Role
from app.models import User
from app.models.base import utcnow
from app.services.engine.clock import today_cst
from app.services.errors import Forbidden
from app.services.errors import InvalidInput
from app.services.errors import NotFound
from app.services.platform import audit
from app.services.records.imports import MAX_BYTES
from app.services.records.imports import MAX_STORED_ERRORS
from app.services.records.imports import Row
from app.services.records.imports import RowErrors
from app.services.records.imports import decode
from app.services.records.spreadsheets import csv_text
from app.services.records.validators import mask_id

KIND = "assessments"
RESULTS = ("合格", "不合格", "未参加")
RE_RESULTS = ("合格", "不合格")
PROCEDURES = ("一般", "简易")
MAIN_STATUSES = ("ACTIVE", "SUSPENDED")
MAX_IMPORT_ROWS = 5000
_CYCLE = re.compile(r"^(\d{4})\s*[-–—至~]\s*(\d{4})$")

# form field -> CSV column
COLUMNS: dict[str, str] = {
    "cert_no": "执业证书编码", "name": "姓名", "cycle": "考核周期", "body": "考核机构",
    "procedure": "考核程序", "result": "考核结果", "suspended_from": "暂停执业开始日期",
    "suspended_to": "暂停执业结束日期", "reassessment_result": "再次考核结果",
}
REQUIRED_COLUMNS = ("执业证书编码", "姓名", "考核周期", "考核机构", "考核结果")


@dataclass(frozen=True)
class PhysicianLine:
    registration_id: int
    name: str
    id_masked: str
    cert_no: str
    status: str
    latest: Assessment | None


@dataclass(frozen=True)
class AssessmentsPage:
    institution: Institution
    physicians: list[PhysicianLine]
    recent: list[tuple[Assessment, str]]  # (result, physician name), newest first


@dataclass(frozen=True)
class ImportResult:
    job_id: int
    total: int
    imported: int
    failed: int
    errors: list[list[object]]  # [line, column, message]


def _institution(actor: User) -> Institution:
    if actor.role is not Role.INSTITUTION or actor.institution_id is None:
        raise Forbidden(_("只有医师的主要执业机构可以录入定期考核结果"))
    inst = db.session.get(Institution, actor.institution_id)
    assert inst is not None
    return inst


def _main_registrations(inst: Institution) -> list[Registration]:
    return list(db.session.scalars(select(Registration).where(
        Registration.institution_id == inst.id, Registration.status.in_(MAIN_STATUSES))
        .order_by(Registration.id)))


def page(actor: User) -> AssessmentsPage:
    """The institution's physicians with their latest result, and the results it entered."""
    inst = _institution(actor)
    regs = _main_registrations(inst)
    quals = [r.qualification_id for r in regs]
    latest: dict[int, Assessment] = {}
    for a in db.session.scalars(select(Assessment).where(
            Assessment.qualification_id.in_(quals)).order_by(Assessment.cycle)):
        latest[a.qualification_id] = a
    lines = [PhysicianLine(r.id, r.qualification.name, mask_id(r.qualification.id_number),
                           r.cert_no or "", r.status_label, latest.get(r.qualification_id))
             for r in regs]
    names = {r.qualification_id: r.qualification.name for r in regs}
    recent = [(a, names.get(a.qualification_id, "")) for a in db.session.scalars(
        select(Assessment).where(Assessment.institution_id == inst.id)
        .order_by(Assessment.entered_at.desc(), Assessment.id.desc()).limit(50))]
    return AssessmentsPage(inst, lines, recent)


def _months_after(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)


def _date(value: str, field: str, errors: dict[str, str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.replace("/", "-"))
    except ValueError:
        errors[field] = _("应为日期，如 2026-07-01")
        return None


@dataclass(frozen=True)
class Checked:
    cycle: str
    body: str
    procedure: str
    result: str
    suspended_from: date | None
    suspended_to: date | None
    reassessment_result: str | None


def check(values: dict[str, str]) -> tuple[Checked | None, dict[str, str]]:
    """The result as entered, or messages by field (医师法 第四十二条: three-year cycles,
    fail → 暂停执业 three to six months → 再次考核)."""
    errors: dict[str, str] = {}
    v = {k: (values.get(k) or "").strip() for k in COLUMNS}
    cycle = ""
    m = _CYCLE.fullmatch(v["cycle"])
    if not v["cycle"]:
        errors["cycle"] = _("请填写考核周期，如 2022-2024")
    elif m is None:
        errors["cycle"] = _("考核周期应为起止年份，如 2022-2024")
    else:
        first, last = int(m.group(1)), int(m.group(2))
        if last - first not in (1, 2) or first < 2007 or first > today_cst().year:
            errors["cycle"] = _("考核周期应为三年（医师法施行前为两年），如 2022-2024")
        cycle = f"{first}-{last}"
    if not v["body"]:
        errors["body"] = _("请填写考核机构")
    elif len(v["body"]) > 100:
        errors["body"] = _("考核机构不能超过 100 个字")
    procedure = v["procedure"] or "一般"
    if procedure not in PROCEDURES:
        errors["procedure"] = _("考核程序应为“一般”或“简易”")
    if v["result"] not in RESULTS:
        errors["result"] = _("请选择考核结果：合格、不合格或未参加")
    start = _date(v["suspended_from"], "suspended_from", errors)
    end = _date(v["suspended_to"], "suspended_to", errors)
    again = v["reassessment_result"] or None
    if v["result"] != "不合格":
        if start or end or v["suspended_from"] or v["suspended_to"]:
            errors.setdefault("suspended_from", _("仅考核不合格时填写暂停执业期限"))
        if again:
            errors["reassessment_result"] = _("仅考核不合格时填写再次考核结果")
    else:
        if (start is None) != (end is None) and "suspended_from" not in errors \
                and "suspended_to" not in errors:
            errors["suspended_to" if start else "suspended_from"] = _(
                "请同时填写暂停执业的开始和结束日期")
        elif start and end and not (_months_after(start, 3) <= end + _ONE_DAY
                                    and end <= _months_after(start, 6)):
            errors["suspended_to"] = _("暂停执业期限为三个月至六个月")
        if again is not None and again not in RE_RESULTS:
            errors["reassessment_result"] = _("再次考核结果应为“合格”或“不合格”")
    if errors:
        return None, errors
    return Checked(cycle, v["body"], procedure, v["result"], start, end, again), {}


_ONE_DAY = date(2000, 1, 2) - date(2000, 1, 1)


def _registration_of(inst: Institution, registration_id: int | None = None,
                     cert_no: str = "") -> Registration | None:
    q = select(Registration).where(Registration.institution_id == inst.id,
                                   Registration.status.in_(MAIN_STATUSES))
    if registration_id is not None:
        q = q.where(Registration.id == registration_id)
    else:
        q = q.where(Registration.cert_no == cert_no)
    return db.session.scalar(q)


def _store(actor: User, inst: Institution, reg: Registration, c: Checked) -> Assessment:
    row = db.session.scalar(select(Assessment).where(
        Assessment.qualification_id == reg.qualification_id, Assessment.cycle == c.cycle))
    if row is None:
        row = Assessment(qualification_id=reg.qualification_id, cycle=c.cycle)
        db.session.add(row)
    row.body, row.procedure, row.result = c.body, c.procedure, c.result
    row.suspended_from, row.suspended_to = c.suspended_from, c.suspended_to
    row.reassessment_result = c.reassessment_result
    row.institution_id, row.entered_by = inst.id, inst.name[:100]
    row.entered_at = utcnow()
    db.session.flush()
    audit.record(actor, "assessment.enter", "qualification", reg.qualification_id,
                 {"cycle": c.cycle, "result": c.result, "reassessment": c.reassessment_result})
    return row


def enter(actor: User, registration_id: int | None, values: dict[str, str]) -> Assessment:
    """Enter (or correct) one physician's result for a cycle.

    :raise NotFound: the physician's main institution is not the actor's.
    :raise InvalidInput: messages by field; the input is kept.
    """
    inst = _institution(actor)
    reg = _registration_of(inst, registration_id) if registration_id is not None else None
    if registration_id is not None and reg is None:
        raise NotFound(_("本机构没有这位医师的执业注册"))
    checked, errors = check(values)
    if reg is None:
        errors["registration_id"] = _("请选择医师")
    if errors or checked is None or reg is None:
        raise InvalidInput(_("请按提示修改后重新提交"), errors, dict(values))
    row = _store(actor, inst, reg, checked)
    db.session.commit()
    return row


def template() -> str:
    """An empty CSV file with the columns of the import."""
    return csv_text(COLUMNS.values(), [])


def import_csv(actor: User, filename: str, raw: bytes) -> ImportResult:
    """Import results from a CSV file: each row on its own (a row with an error changes
    nothing and is reported with its line, column and message)."""
    inst = _institution(actor)
    if not raw:
        raise InvalidInput(_("请选择要导入的 CSV 文件"), {"file": _("请选择要导入的 CSV 文件")})
    if len(raw) > MAX_BYTES:
        raise InvalidInput(_("文件过大（超过 20 MB），请分批导入"), {"file": _("文件过大")})
    text = decode(raw)
    try:
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip() for h in (reader.fieldnames or [])]
        reader.fieldnames = header
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            message = _("文件缺少必需的列：%(c)s", c="、".join(missing))
            raise InvalidInput(message, {"file": message})
        rows = [(reader.line_num, r) for r in reader
                if any((v or "").strip() for v in r.values() if isinstance(v, str))]
    except csv.Error as exc:
        message = _("CSV 文件格式错误：%(e)s", e=exc)
        raise InvalidInput(message, {"file": message}) from None
    if not rows:
        raise InvalidInput(_("文件中没有数据行"), {"file": _("文件中没有数据行")})
    if len(rows) > MAX_IMPORT_ROWS:
        message = _("一次最多导入 %(n)s 行，请分批导入", n=MAX_IMPORT_ROWS)
        raise InvalidInput(message, {"file": message})
    errors: list[list[object]] = []
    imported = 0
    for line, values in rows:
        try:
            with db.session.begin_nested():
                _import_row(actor, inst, Row({k: v for k, v in values.items()
                                              if isinstance(k, str) and isinstance(v, str)}))
            imported += 1
        except RowErrors as exc:
            errors.extend([line, col, msg] for col, msg in exc.errors)
    failed = len({e[0] for e in errors})
    job = ImportJob(kind=KIND, filename=filename[:200] or "upload.csv", content="",
                    total=len(rows), processed=len(rows), imported=imported, failed=failed,
                    errors=errors[:MAX_STORED_ERRORS], status="done", created_by_id=actor.id,
                    finished_at=utcnow())
    db.session.add(job)
    db.session.flush()
    audit.record(actor, "import.finished", "import_job", job.id,
                 {"kind": KIND, "imported": imported, "failed": failed})
    db.session.commit()
    return ImportResult(job.id, len(rows), imported, failed, errors)


def _import_row(actor: User, inst: Institution, row: Row) -> None:
    cert_no = row.get(COLUMNS["cert_no"], True, 15)
    name = row.get(COLUMNS["name"], True, 30)
    reg = _registration_of(inst, cert_no=cert_no) if cert_no else None
    if cert_no and reg is None:
        row.error(COLUMNS["cert_no"], _("本机构没有执业证书编码为 %(c)s 的在册医师", c=cert_no))
    elif reg is not None and name and reg.qualification.name != name:
        row.error(COLUMNS["name"], _("姓名与执业证书编码不一致"))
    checked, errors = check({k: row.values.get(c, "") for k, c in COLUMNS.items()})
    for field, message in errors.items():
        row.error(COLUMNS[field], message)
    row.done()
    assert reg is not None and checked is not None
    _store(actor, inst, reg, checked)


def error_report(actor: User, job_id: int) -> str:
    """The errors of one of the institution's imports, as CSV (行号, 列, 问题)."""
    inst = _institution(actor)
    job = db.session.get(ImportJob, job_id)
    creator = db.session.get(User, job.created_by_id) if job is not None else None
    if job is None or job.kind != KIND or creator is None or creator.institution_id != inst.id:
        raise NotFound(_("没有这个导入任务"))
    return csv_text(["行号", "列", "问题"], job.errors)
