"""CSV import of institutions, qualifications and registrations.

The upload is checked (encoding, header) and stored as a job; ``step`` then applies the
next batch of rows in one transaction. A row with any error changes nothing and is reported
with its line, column and message; the good rows around it are imported. A row whose key
exists updates that record, so a corrected file can be re-imported.

A batch costs the same few statements whatever its size (issue 14 goal 5, ≥ 1,000 rows/s):
the reference data and the records its rows name are read in one query per table, and its
rows are written with one INSERT (executemany) of the new records and one UPDATE per set of
columns of the existing ones per table (SQLAlchemy Core, no ORM objects). The job keeps where
its next row starts in the file (``ImportJob.position``, ``line``), so a batch reads (a window
of the stored file at a time) and parses only its own rows.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import String
from sqlalchemy import any_
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Authority
from app.models import CatalogueItem
from app.models import ImportJob
from app.models import ImportStatus
from app.models import Institution
from app.models import Qualification
from app.models import Registration
from app.models import User
from app.models.base import utcnow
from app.models.physician import REGISTRATION_STATUSES
from app.models.physician import STATUS_REASONS
from app.services.errors import InvalidInput
from app.services.errors import NotFound
from app.services.platform import audit
from app.services.platform.database import is_postgres
from app.services.records.spreadsheets import csv_text
from app.services.records.validators import birth_date_of
from app.services.records.validators import is_practice_cert
from app.services.records.validators import is_qualification_cert
from app.services.records.validators import normalize_resident_id
from app.services.records.validators import resident_id_error
from app.services.records.validators import sex_of

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
BATCH = 2000  # rows per step (one transaction); the page asks for the next step
MAX_STORED_ERRORS = 5000
_REGION = re.compile(r"^\d{6}$")
_CREDIT = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
_SPLIT = re.compile(r"[;；,，、\s]+")


class RowErrors(Exception):
    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(m for _c, m in errors))
        self.errors = errors


_KEYS: dict[type[Any], tuple[Any, ...]] = {  # what a batch reads of a record it names
    Institution: (Institution.id, Institution.reg_no),
    Qualification: (Qualification.id, Qualification.cert_no, Qualification.level, Qualification.category),
    Registration: (Registration.id, Registration.cert_no, Registration.qualification_id),
}


def _one_of(column: Any, numbers: set[str]) -> Any:
    """``column`` is one of ``numbers``: on PostgreSQL ``= ANY`` of one array parameter (an
    ``IN`` of 2,000 parameters costs the driver more to send than the server to answer)."""
    if is_postgres():
        return column == any_(bindparam("numbers", sorted(numbers), type_=postgresql.ARRAY(String)))
    return column.in_(numbers)


@dataclass
class Change:
    """What one good row writes: the values of the record of ``model`` numbered ``number``;
    ``record_id`` None: a record the batch creates."""

    model: type[Any]
    number: str
    values: dict[str, Any]
    record_id: int | None


@dataclass
class Lookups:
    """Reference data one batch reads (loaded once per batch)."""

    authorities: dict[str, int] = field(default_factory=dict)
    subjects: set[str] = field(default_factory=set)
    categories: dict[str, str] = field(default_factory=dict)  # code or name -> code
    scopes: dict[str, str] = field(default_factory=dict)  # scope code -> category code
    # records already looked up by their number: (model, number) -> their _KEYS columns or
    # None; a record the batch creates has the id None
    found: dict[tuple[type[Any], str], dict[str, Any] | None] = field(default_factory=dict)

    def find(self, model: type[Any], column: Any, number: str) -> dict[str, Any] | None:
        """The record of ``model`` whose ``column`` is ``number`` (read once per batch)."""
        key = (model, number)
        if key not in self.found:
            row = db.session.execute(select(*_KEYS[model]).where(column == number)).mappings().first()
            self.found[key] = dict(row) if row is not None else None
        return self.found[key]

    def remember(self, model: type[Any], number: str, record: dict[str, Any] | None) -> None:
        self.found[(model, number)] = record

    def forget(self, model: type[Any], number: str) -> None:
        """Read the record again when next asked for (it was just written)."""
        self.found.pop((model, number), None)

    def prefetch(self, model: type[Any], column: Any, numbers: set[str]) -> None:
        """Look up many numbers in one query (a batch's keys), so rows need no query each."""
        numbers = {n for n in numbers if n and (model, n) not in self.found}
        if not numbers:
            return
        for row in db.session.execute(select(*_KEYS[model]).where(_one_of(column, numbers))).mappings():
            self.found[(model, row[column.key])] = dict(row)
        for number in numbers:
            self.found.setdefault((model, number), None)

    def change(self, model: type[Any], column: Any, number: str, values: dict[str, Any],
               found: dict[str, Any] | None) -> Change:
        """The row's change of the record ``found`` by ``number`` (a new one if None)."""
        if found is None:
            self.remember(model, number, {"id": None, column.key: number, **{
                c.key: values.get(c.key) for c in _KEYS[model][2:]}})
            return Change(model, number, {column.key: number, **values}, None)
        return Change(model, number, values, found["id"])

    @classmethod
    def load(cls) -> Lookups:
        items = db.session.execute(select(CatalogueItem.kind, CatalogueItem.code, CatalogueItem.name,
                                          CatalogueItem.parent_code)).all()
        out = cls(dict(db.session.execute(select(Authority.region_code, Authority.id)).tuples().all()))
        for kind, code, name, parent in items:
            if kind == "clinical_subject":
                out.subjects.add(code)
            elif kind == "practice_category":
                out.categories[code] = out.categories[name] = code
            elif kind == "practice_scope":
                out.scopes[code] = parent or ""
        return out


class Row:
    """One CSV row with error collection by column."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.errors: list[tuple[str, str]] = []

    def get(self, column: str, required: bool = False, max_len: int = 200) -> str:
        value = (self.values.get(column) or "").strip()
        if required and not value:
            self.errors.append((column, _("%(c)s不能为空", c=column)))
        elif len(value) > max_len:
            self.errors.append((column, _("%(c)s不能超过 %(n)s 个字", c=column, n=max_len)))
        return value

    def error(self, column: str, message: str) -> None:
        self.errors.append((column, message))

    def date(self, column: str, required: bool = False) -> date | None:
        value = self.get(column, required)
        if not value:
            return None
        try:
            return date.fromisoformat(value.replace("/", "-"))
        except ValueError:
            self.error(column, _("%(c)s应为日期，如 2020-07-01", c=column))
            return None

    def region(self, column: str) -> str:
        value = self.get(column, True)
        if value and not _REGION.fullmatch(value):
            self.error(column, _("%(c)s应为 6 位行政区划代码", c=column))
        return value

    def done(self) -> None:
        if self.errors:
            raise RowErrors(self.errors)


def _institution(row: Row, look: Lookups) -> Change:
    reg_no = row.get("登记号", True, 40)
    name = row.get("机构名称", True, 120)
    credit = row.get("统一社会信用代码", max_len=18).upper()
    if credit and not _CREDIT.fullmatch(credit):
        row.error("统一社会信用代码", _("统一社会信用代码应为 18 位"))
    kind = row.get("机构类别", True, 40)
    grade = row.get("机构等级", max_len=20) or "未定级"
    region = row.region("所在地区划代码")
    authority_code = row.region("登记机关区划代码")
    authority_id = look.authorities.get(authority_code)
    if authority_code and authority_id is None:
        row.error("登记机关区划代码", _("没有区划代码为 %(c)s 的卫生健康行政部门", c=authority_code))
    subjects = [s for s in _SPLIT.split(row.get("诊疗科目", max_len=400)) if s]
    unknown = [s for s in subjects if s not in look.subjects]
    if unknown:
        row.error("诊疗科目", _("诊疗科目代码不存在：%(c)s", c="、".join(unknown)))
    address = row.get("地址", max_len=200)
    row.done()
    assert authority_id is not None
    return look.change(Institution, Institution.reg_no, reg_no, {
        "name": name, "credit_code": credit or None, "kind": kind, "grade": grade, "region_code": region,
        "address": address, "authority_id": authority_id, "subject_codes": ",".join(subjects)},
        look.find(Institution, Institution.reg_no, reg_no))


def _qualification(row: Row, look: Lookups) -> Change:
    cert_no = row.get("资格证书编码", True, 27).upper()
    if cert_no and not is_qualification_cert(cert_no):
        row.error("资格证书编码", _("资格证书编码格式不正确"))
    name = row.get("姓名", True, 30)
    id_number = normalize_resident_id(row.get("身份证件号码", True, 18))
    id_error = resident_id_error(id_number) if id_number else None
    if id_error:
        row.error("身份证件号码", id_error)
    sex, born = row.get("性别", max_len=2), row.date("出生日期")
    if id_number and not id_error:
        if sex and sex != sex_of(id_number):
            row.error("性别", _("性别与身份证件号码不一致"))
        if born and born != birth_date_of(id_number):
            row.error("出生日期", _("出生日期与身份证件号码不一致"))
        sex, born = sex_of(id_number), birth_date_of(id_number)
    level = row.get("医师级别", True, 10)
    if level and level not in ("执业医师", "执业助理医师"):
        row.error("医师级别", _("医师级别应为“执业医师”或“执业助理医师”"))
    category = look.categories.get(row.get("执业类别", True, 10))
    if row.values.get("执业类别", "").strip() and category is None:
        row.error("执业类别", _("执业类别应为临床、口腔、公共卫生、中医或其代码 1–4"))
    year = row.get("取得年份", True, 4)
    if year and not (year.isdigit() and 1949 <= int(year) <= date.today().year):
        row.error("取得年份", _("取得年份应为四位年份"))
    issued = row.date("发证日期", True)
    issuer = row.get("发证机关", True, 100)
    values: dict[str, Any] = {"ethnicity": row.get("民族", max_len=20) or "汉族",
              "obtained_by": row.get("取得方式", max_len=10) or "考试", "major": row.get("专业", max_len=60),
              "education": row.get("学历", max_len=20), "school": row.get("毕业学校", max_len=100)}
    row.done()
    assert born is not None and issued is not None and category is not None
    values.update(name=name, sex=sex, id_number=id_number, birth_date=born, level=level, category=category,
                  year=int(year), issued_on=issued, issuer=issuer)
    return look.change(Qualification, Qualification.cert_no, cert_no, values,
                       look.find(Qualification, Qualification.cert_no, cert_no))


def _registration(row: Row, look: Lookups) -> Change:
    cert_no = row.get("执业证书编码", True, 15)
    if cert_no and not is_practice_cert(cert_no):
        row.error("执业证书编码", _("执业证书编码应为 15 位数字"))
    qual_no = row.get("资格证书编码", True, 27).upper()
    qual = look.find(Qualification, Qualification.cert_no, qual_no) if qual_no else None
    if qual_no and qual is None:
        row.error("资格证书编码", _("没有资格证书编码为 %(c)s 的医师资格（请先导入医师资格）", c=qual_no))
    scopes = [s for s in _SPLIT.split(row.get("执业范围", True, 100)) if s]
    bad = [s for s in scopes if s not in look.scopes]
    if bad:
        row.error("执业范围", _("执业范围代码不存在：%(c)s", c="、".join(bad)))
    elif qual is not None and any(look.scopes[s] != qual["category"] for s in scopes):
        row.error("执业范围", _("执业范围与医师资格的执业类别不一致"))
    place = row.region("执业地点区划代码")
    inst_no = row.get("主要执业机构登记号", True, 40)
    inst = look.find(Institution, Institution.reg_no, inst_no) if inst_no else None
    if inst_no and inst is None:
        row.error("主要执业机构登记号", _("没有登记号为 %(c)s 的医疗机构（请先导入医疗机构）", c=inst_no))
    authority_code = row.region("注册机关区划代码")
    authority_id = look.authorities.get(authority_code)
    if authority_code and authority_id is None:
        row.error("注册机关区划代码", _("没有区划代码为 %(c)s 的卫生健康行政部门", c=authority_code))
    status_text = row.get("状态", max_len=10) or "有效"
    status = next((k for k, v in REGISTRATION_STATUSES.items() if status_text in (k, v)), None)
    if status is None:
        row.error("状态", _("状态应为：%(s)s", s="、".join(REGISTRATION_STATUSES.values())))
    approved, issued = row.date("批准日期"), row.date("发证日期")
    # since when the status holds (e.g. 备案 since the event) and the date of its decision
    # (注销/吊销/暂停执业): the bars of 医师法 第十六条 count from it
    since, decided = row.date("状态日期"), row.date("状态决定日期")
    reason_text = row.get("状态事由", max_len=40)
    reason = next((k for k, v in STATUS_REASONS.items() if reason_text in (k, v)), None)
    if reason_text and reason is None:
        row.error("状态事由", _("状态事由应为：%(s)s", s="、".join(STATUS_REASONS.values())))
    row.done()
    assert qual is not None and inst is not None and authority_id is not None and status is not None
    reg = look.find(Registration, Registration.cert_no, cert_no)
    if reg is not None and reg["qualification_id"] != qual["id"]:
        raise RowErrors([("执业证书编码", _("该执业证书编码已属于另一位医师"))])
    values = {"qualification_id": qual["id"], "level": qual["level"], "category": qual["category"],
              "scopes": scopes, "place_region": place, "institution_id": inst["id"],
              "authority_id": authority_id, "status": status, "approved_on": approved, "issued_on": issued}
    # optional columns: a file without them leaves the dates (and the reason) as they are
    if since or decided or reg is None:
        values.update(status_changed_on=since or decided, status_decided_on=decided or since)
    if reason or reg is None:
        values["status_reason"] = reason
    return look.change(Registration, Registration.cert_no, cert_no, values, reg)


def _cell(values: dict[str, str], column: str, upper: bool) -> str:
    value = (values.get(column) or "").strip()
    return value.upper() if upper else value


def _prefetch(kind: str, rows: list[dict[str, str]], look: Lookups) -> None:
    """Every record a batch's rows name, read in one query per table."""
    keys: dict[str, list[tuple[type[Any], Any, str, bool]]] = {
        "institutions": [(Institution, Institution.reg_no, "登记号", False)],
        "qualifications": [(Qualification, Qualification.cert_no, "资格证书编码", True)],
        "registrations": [(Registration, Registration.cert_no, "执业证书编码", False),
                          (Qualification, Qualification.cert_no, "资格证书编码", True),
                          (Institution, Institution.reg_no, "主要执业机构登记号", False)]}
    for model, column, header, upper in keys[kind]:
        look.prefetch(model, column, {_cell(v, header, upper) for v in rows})


@dataclass(frozen=True)
class Kind:
    label: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    apply: Callable[[Row, Lookups], Change]


KINDS: dict[str, Kind] = {
    "institutions": Kind("医疗机构", (
        "登记号", "机构名称", "统一社会信用代码", "机构类别", "机构等级", "所在地区划代码", "地址",
        "登记机关区划代码", "诊疗科目"),
        ("登记号", "机构名称", "机构类别", "所在地区划代码", "登记机关区划代码"), _institution),
    "qualifications": Kind("医师资格", (
        "资格证书编码", "姓名", "性别", "身份证件号码", "出生日期", "民族", "医师级别", "执业类别",
        "取得方式", "取得年份", "发证日期", "发证机关", "专业", "学历", "毕业学校"),
        ("资格证书编码", "姓名", "身份证件号码", "医师级别", "执业类别", "取得年份", "发证日期",
         "发证机关"), _qualification),
    "registrations": Kind("执业注册", (
        "执业证书编码", "资格证书编码", "执业范围", "执业地点区划代码", "主要执业机构登记号",
        "注册机关区划代码", "批准日期", "发证日期", "状态", "状态日期", "状态决定日期", "状态事由"),
        ("执业证书编码", "资格证书编码", "执业范围", "执业地点区划代码", "主要执业机构登记号",
         "注册机关区划代码"), _registration),
}


def _decode(raw: bytes) -> str:
    """UTF-8 (with or without BOM) or GB18030, which is how Excel saves CSV in China."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(_("无法识别文件编码，请保存为 UTF-8 或 GBK 编码的 CSV 文件"),
                       {"file": _("无法识别文件编码")})


decode = _decode  # the institutions' own imports (定期考核) read files the same way


def template(kind: str) -> str:
    """An empty CSV file with the header row of ``kind``."""
    if kind not in KINDS:
        raise NotFound(_("没有这种导入类型"))
    return csv_text(KINDS[kind].columns, [])


def create(actor: User, kind: str, filename: str, raw: bytes) -> int:
    """Check the file and its header, store it as a job; returns the job id."""
    spec = KINDS.get(kind)
    if spec is None:
        raise InvalidInput(_("请选择导入类型"), {"kind": _("请选择导入类型")})
    if not raw:
        raise InvalidInput(_("请选择要导入的 CSV 文件"), {"file": _("请选择要导入的 CSV 文件")})
    if len(raw) > MAX_BYTES:
        raise InvalidInput(_("文件过大（超过 20 MB），请分批导入"), {"file": _("文件过大")})
    text = _decode(raw)
    reader = csv.reader(io.StringIO(text))
    try:  # the whole file is read once here, so a later batch never meets a malformed line
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in spec.required if c not in header]
        if missing:
            raise InvalidInput(_("文件缺少必需的列：%(c)s", c="、".join(missing)),
                               {"file": _("文件缺少必需的列：%(c)s", c="、".join(missing))})
        total = sum(1 for r in reader if any(v.strip() for v in r))
    except csv.Error as exc:
        message = _("CSV 文件格式错误（第 %(n)s 行）：%(e)s", n=reader.line_num, e=exc)
        raise InvalidInput(message, {"file": message}) from None
    if total == 0:
        raise InvalidInput(_("文件中没有数据行"), {"file": _("文件中没有数据行")})
    if total > MAX_ROWS:
        raise InvalidInput(_("一次最多导入 %(n)s 行，请分批导入", n=MAX_ROWS), {"file": _("行数过多")})
    job = ImportJob(kind=kind, filename=filename[:200] or "upload.csv", content=text, total=total,
                    errors=[], created_by_id=actor.id)
    db.session.add(job)
    db.session.flush()
    # who imported which file: the trail keeps the file's digest and its number of rows
    audit.record(actor, "import.created", "import_job", job.id,
                 {"kind": kind, "rows": total, "sha256": hashlib.sha256(raw).hexdigest()})
    db.session.commit()
    return job.id


WINDOW = 1 << 20  # characters of a file read from the database at a time (a batch: ~0.3 M)


class _Lines:
    """A stored file's lines from ``start`` on, read a window at a time (``substr`` in the
    database: a batch never loads the whole file). ``at``: where the line after the last one
    given starts; ``given``: how many lines were given."""

    def __init__(self, job_id: int, start: int, window: int | None = None) -> None:
        self.job_id, self.at, self.window, self.given = job_id, start, window or WINDOW, 0
        self.buffer, self.i, self.read_to, self.end = "", 0, start, False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        cut = self.buffer.find("\n", self.i)
        while cut < 0 and not self.end:
            more = db.session.scalar(select(func.substr(ImportJob.content, self.read_to + 1, self.window))
                                     .where(ImportJob.id == self.job_id)) or ""
            self.read_to += len(more)
            self.end = len(more) < self.window
            self.buffer, self.i, self.window = self.buffer[self.i:] + more, 0, WINDOW
            cut = self.buffer.find("\n")
        stop = cut + 1 if cut >= 0 else len(self.buffer)
        if stop == self.i:
            raise StopIteration
        line = self.buffer[self.i:stop]
        self.i, self.at, self.given = stop, self.at + len(line), self.given + 1
        return line


def _rows(job: ImportJob, batch: int) -> tuple[list[tuple[int, dict[str, str]]], int, int]:
    """The job's next ``batch`` data rows (line number, values), blank lines skipped, then where
    the row after them starts and the lines before it. A job stored before it kept its place
    (position 0 after a batch) passes over its processed rows first."""
    head = _Lines(job.id, 0, 4096)
    fieldnames = [h.strip() for h in next(csv.reader(head), [])]
    lines, lines_before = (_Lines(job.id, job.position), job.line) if job.position else (head, head.given)
    skip = 0 if job.position else job.processed
    reader = csv.DictReader(lines, fieldnames=fieldnames)
    out: list[tuple[int, dict[str, str]]] = []
    for values in reader:
        if not any((v or "").strip() for v in values.values() if isinstance(v, str)):
            continue
        if skip:
            skip -= 1
            continue
        out.append((lines_before + reader.line_num, values))
        if len(out) == batch:
            break
    return out, lines.at, lines_before + reader.line_num


def _write(changes: list[Change]) -> None:
    """Write good rows' changes: per table one INSERT of the new records (executemany) and one
    UPDATE per set of columns of the existing ones. Rows naming the same record are merged in
    file order (the last value wins, as if each row were written in turn)."""
    new: dict[type[Any], dict[str, dict[str, Any]]] = {}
    old: dict[tuple[type[Any], frozenset[str]], dict[int, dict[str, Any]]] = {}
    merged: dict[tuple[type[Any], int], dict[str, Any]] = {}
    for c in changes:
        if c.record_id is None:
            new.setdefault(c.model, {}).setdefault(c.number, {}).update(c.values)
        else:
            merged.setdefault((c.model, c.record_id), {}).update(c.values)
    for (model, record_id), values in merged.items():
        old.setdefault((model, frozenset(values)), {})[record_id] = values
    conn = db.session.connection()
    for model, records in new.items():
        conn.execute(insert(model.__table__), list(records.values()))
    for (model, _columns), by_id in old.items():
        table = model.__table__
        conn.execute(update(table).where(table.c.id == bindparam("record_id")),
                     [{"record_id": record_id, **values} for record_id, values in by_id.items()])


def _apply(spec: Kind, kind: str, rows: list[tuple[int, dict[str, str]]], errors: list[Any],
           each: bool) -> tuple[int, int, list[Any]]:
    """Apply ``rows``; (imported, failed, errors). A row with errors changes nothing (every
    check comes before the first change). The good rows are written together at the end;
    with ``each``, every row is written in a savepoint of its own, so a row that conflicts
    with the database fails alone."""
    look = Lookups.load()
    _prefetch(kind, [values for _line, values in rows], look)
    imported = failed = 0
    changes: list[Change] = []
    for line, values in rows:
        try:
            if each:
                with db.session.begin_nested():
                    change = spec.apply(Row(values), look)
                    _write([change])
                look.forget(change.model, change.number)  # a new record has its id now
            else:
                changes.append(spec.apply(Row(values), look))
            imported += 1
        except RowErrors as exc:
            failed += 1
            errors.extend([line, col, msg] for col, msg in exc.errors)
        except IntegrityError:
            failed += 1
            errors.append([line, "", _("与已有数据冲突（重复的编码或号码）")])
            look = Lookups.load()  # records read before the conflict may be stale
    if changes:
        _write(changes)
    return imported, failed, errors


def step(actor: User, job_id: int, batch: int | None = None) -> ImportJob:
    """Apply the next ``batch`` rows (default :data:`BATCH`) of a job in one transaction
    (see :func:`_apply`)."""
    job = db.session.scalar(select(ImportJob).where(ImportJob.id == job_id).with_for_update())
    if job is None:
        raise NotFound(_("没有这个导入任务"))
    if job.status == ImportStatus.DONE:
        db.session.rollback()
        return job
    batch = batch or BATCH
    spec = KINDS[job.kind]
    rows, position, line = _rows(job, batch)
    done = len(rows)
    try:  # all rows in one savepoint, written together: no database round trip per row
        with db.session.begin_nested():
            imported, failed, errors = _apply(spec, job.kind, rows, list(job.errors), each=False)
    except IntegrityError:  # a row conflicts: again, each row in a savepoint of its own
        imported, failed, errors = _apply(spec, job.kind, rows, list(job.errors), each=True)
    job.position, job.line = position, line
    job.processed += done
    job.imported += imported
    job.failed += failed
    job.errors = errors[:MAX_STORED_ERRORS]
    job.status = ImportStatus.DONE if done < batch or job.processed >= job.total else ImportStatus.RUNNING
    if job.status == ImportStatus.DONE:
        job.finished_at = utcnow()
        audit.record(actor, "import.finished", "import_job", job.id,
                     {"kind": job.kind, "imported": job.imported, "failed": job.failed})
    db.session.commit()
    return job


def get(job_id: int) -> ImportJob:
    job = db.session.get(ImportJob, job_id)
    if job is None or job.kind not in KINDS:  # institutions' imports have their own pages
        raise NotFound(_("没有这个导入任务"))
    return job


def recent(limit: int = 20) -> list[ImportJob]:
    return list(db.session.scalars(select(ImportJob).where(ImportJob.kind.in_(KINDS))
                                   .order_by(ImportJob.id.desc()).limit(limit)))


def error_report(job_id: int) -> str:
    """The per-row errors as CSV (行号, 列, 问题) for spreadsheet programs."""
    return csv_text(["行号", "列", "问题"], get(job_id).errors)
