"""CSV import: good rows are imported, each bad row is reported by line and column and changes
nothing, batches continue where they stopped, and a corrected file updates in place."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select

from app.errors import InvalidInput
from app.extensions import db
from app.models import AuditEvent
from app.models import ImportJob
from app.models import Institution
from app.models import Qualification
from app.models import Registration
from app.services.platform.seed import make_resident_id
from app.services.records import imports
from tests.factories import World
from tests.factories import user

INSTITUTIONS = """登记号,机构名称,统一社会信用代码,机构类别,机构等级,所在地区划代码,地址,登记机关区划代码,诊疗科目
PDY-001,太原市第二人民医院,12140100405731726X,综合医院,三级甲等,140105,太原市小店区,140100,0300；0400
PDY-002,太原市某诊所,,诊所,,140106,,999999,0300
PDY-003,,,综合医院,,140105,,140100,0300
PDY-004,太原市妇幼保健院,,妇幼保健院,,140107,,140100,0500、9999
PDY-005,晋源区社区卫生服务中心,,社区卫生服务中心,,140110,,140100,0200
"""


def _run(world: World, kind: str, text: str, batch: int = imports.BATCH, encoding: str = "utf-8") -> ImportJob:
    job_id = imports.create(user(world.admin_id), kind, f"{kind}.csv", text.encode(encoding))
    job = imports.get(job_id)
    while job.status != "done":
        job = imports.step(user(world.admin_id), job_id, batch)
    return job


def test_good_institution_rows_are_imported_and_bad_ones_reported(world: World) -> None:
    job = _run(world, "institutions", INSTITUTIONS)
    assert (job.total, job.imported, job.failed) == (5, 2, 3)
    assert [tuple(e) for e in job.errors] == [
        (3, "登记机关区划代码", "没有区划代码为 999999 的卫生健康行政部门"),
        (4, "机构名称", "机构名称不能为空"),
        (5, "诊疗科目", "诊疗科目代码不存在：9999"),
    ]
    names = db.session.scalars(select(Institution.reg_no).where(Institution.reg_no.like("PDY-%"))
                               .order_by(Institution.reg_no))
    assert list(names) == ["PDY-001", "PDY-005"]
    first = db.session.scalar(select(Institution).where(Institution.reg_no == "PDY-001"))
    assert first.subject_codes == "0300,0400" and first.authority_id == world.authority_id


def test_batches_continue_where_they_stopped(world: World) -> None:
    job_id = imports.create(user(world.admin_id), "institutions", "a.csv", INSTITUTIONS.encode())
    first = imports.step(user(world.admin_id), job_id, batch=2)
    assert (first.processed, first.imported, first.failed, first.status) == (2, 1, 1, "running")
    second = imports.step(user(world.admin_id), job_id, batch=2)
    assert (second.processed, second.imported, second.failed) == (4, 1 + 0, 1 + 2)
    last = imports.step(user(world.admin_id), job_id, batch=2)
    assert (last.processed, last.imported, last.failed, last.status) == (5, 2, 3, "done")
    assert imports.step(user(world.admin_id), job_id, batch=2).processed == 5  # done stays done


def _qual_rows() -> tuple[str, str, str]:
    good = make_resident_id("140105", date(1985, 6, 1), 123)
    other = make_resident_id("140105", date(1990, 2, 3), 124)
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    text = (
        "资格证书编码,姓名,性别,身份证件号码,出生日期,民族,医师级别,执业类别,取得方式,取得年份,发证日期,发证机关\n"
        f"201014101{good},王一,,{good},,汉族,执业医师,临床,考试,2010,2010-12-01,山西省卫生厅\n"
        f"201014101{bad_check},王二,,{bad_check},,,执业医师,1,考试,2010,2010-12-01,山西省卫生厅\n"
        f"201114101{other},王三,男,{other},1990-02-03,,主任医师,临床,考试,2011,2011/12/01,山西省卫生厅\n"
        f"201214102{other},王四,,{other},,,执业助理医师,口腔,考试,2012,2012-12-01,山西省卫生厅\n")
    return text, good, other


def test_qualification_rows_are_checked_against_the_id_number(world: World) -> None:
    text, good, other = _qual_rows()
    job = _run(world, "qualifications", text)
    assert (job.imported, job.failed) == (2, 2)
    by_line = {(e[0], e[1]) for e in job.errors}
    assert (3, "身份证件号码") in by_line
    assert (4, "医师级别") in by_line and (4, "性别") in by_line  # every problem of the row
    q = db.session.scalar(select(Qualification).where(Qualification.id_number == good))
    assert (q.birth_date, q.category, q.sex) == (date(1985, 6, 1), "1", "男")  # from the ID number
    assert db.session.scalar(select(Qualification.category).where(Qualification.name == "王四")) == "2"


def test_registrations_refer_to_imported_records_and_never_half_apply(world: World) -> None:
    text, good, _other = _qual_rows()
    _run(world, "qualifications", text)
    _run(world, "institutions", INSTITUTIONS)
    job = _run(world, "registrations", (
        "执业证书编码,资格证书编码,执业范围,执业地点区划代码,主要执业机构登记号,注册机关区划代码,批准日期,发证日期,状态\n"
        f"110140100000701,201014101{good},11,140000,PDY-001,140100,2011-03-01,2011-03-05,有效\n"
        f"110140100000702,201014101{good},31,140000,PDY-001,140100,,,有效\n"
        f"110140100000703,999999999{good},11,140000,NO-SUCH,140100,,,有效\n"
        f"1101401000007,201014101{good},11,140000,PDY-001,140100,,,作废\n"))
    assert (job.imported, job.failed) == (1, 3)
    messages = {(e[0], e[1]): e[2] for e in job.errors}
    assert messages[(3, "执业范围")] == "执业范围与医师资格的执业类别不一致"
    assert "请先导入医师资格" in messages[(4, "资格证书编码")]
    assert "请先导入医疗机构" in messages[(4, "主要执业机构登记号")]
    assert messages[(5, "执业证书编码")] == "执业证书编码应为 15 位数字" and (5, "状态") in messages
    reg = db.session.scalar(select(Registration).where(Registration.cert_no == "110140100000701"))
    assert reg.status == "ACTIVE" and reg.scopes == ["11"] and reg.approved_on == date(2011, 3, 1)

    # a certificate number that belongs to someone else changes nothing at all
    someone = db.session.scalar(select(Qualification.cert_no).where(Qualification.name == "王四"))
    again = _run(world, "registrations", (
        "执业证书编码,资格证书编码,执业范围,执业地点区划代码,主要执业机构登记号,注册机关区划代码,状态\n"
        f"110140100000701,{someone},31,530000,PDY-005,140100,注销\n"))
    assert (again.imported, again.failed) == (0, 1)
    assert again.errors == [[2, "执业证书编码", "该执业证书编码已属于另一位医师"]]
    db.session.expire_all()
    reg = db.session.scalar(select(Registration).where(Registration.cert_no == "110140100000701"))
    assert (reg.status, reg.scopes, reg.place_region) == ("ACTIVE", ["11"], "140000")


def test_a_corrected_file_updates_in_place(world: World) -> None:
    _run(world, "institutions", INSTITUTIONS)
    fixed = INSTITUTIONS.replace(",999999,", ",140100,").replace("PDY-001,太原市第二人民医院", "PDY-001,太原市第二医院")
    job = _run(world, "institutions", fixed)
    assert job.imported == 3
    assert db.session.scalar(select(func.count()).select_from(Institution)
                             .where(Institution.reg_no.like("PDY-%"))) == 3
    assert db.session.scalar(select(Institution.name).where(Institution.reg_no == "PDY-001")) == "太原市第二医院"


def test_files_from_excel_in_gbk_are_read(world: World) -> None:
    job = _run(world, "institutions", INSTITUTIONS, encoding="gb18030")
    assert job.imported == 2 and "太原" in db.session.scalar(
        select(Institution.name).where(Institution.reg_no == "PDY-001"))


@pytest.mark.parametrize(("kind", "content", "message"), [
    ("", b"x", "请选择导入类型"),
    ("institutions", b"", "请选择要导入的 CSV 文件"),
    ("institutions", "登记号,机构名称\nA,B\n".encode(), "文件缺少必需的列：机构类别、所在地区划代码、登记机关区划代码"),
    ("institutions", INSTITUTIONS.splitlines()[0].encode() + b"\n\n", "文件中没有数据行"),
    ("institutions", b"\xff\xfe\x00\x00\xff", "无法识别文件编码"),
])
def test_unusable_files_are_refused_before_anything_is_stored(world: World, kind: str, content: bytes,
                                                              message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        imports.create(user(world.admin_id), kind, "x.csv", content)
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_error_report_is_a_csv_for_excel(world: World) -> None:
    job = _run(world, "institutions", INSTITUTIONS)
    report = imports.error_report(job.id)
    assert report.startswith("\ufeff行号,列,问题")
    assert "4,机构名称,机构名称不能为空" in report


def test_a_row_that_conflicts_in_a_batch_fails_alone(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # each row all or nothing (docs: 数据导入): a batch is written in one flush (issue 14 goal 5:
    # ≥ 1,000 rows/s at national volume); a row the database refuses (here: another import
    # wrote PDY-001 since the batch read its keys) sends the batch back to one savepoint per
    # row, so only that row fails and the others are imported
    db.session.add(Institution(name="先到的机构", reg_no="PDY-001", kind="诊所", region_code="140105",
                               authority_id=world.authority_id))
    db.session.commit()
    real_find = imports.Lookups.find

    def stale(self: imports.Lookups, model: type, column: object, number: str) -> object:
        return None if number == "PDY-001" else real_find(self, model, column, number)
    monkeypatch.setattr(imports.Lookups, "find", stale)
    job = _run(world, "institutions", INSTITUTIONS)
    assert (job.total, job.imported, job.failed) == (5, 1, 4)
    assert [tuple(e) for e in job.errors][0] == (2, "", "与已有数据冲突（重复的编码或号码）")
    names = db.session.scalars(select(Institution.name).where(Institution.reg_no.like("PDY-%"))
                               .order_by(Institution.reg_no))
    assert list(names) == ["先到的机构", "晋源区社区卫生服务中心"]


def _qualifications(n: int, name: str = "李建华") -> str:
    """``n`` good 医师资格 rows (valid ID numbers, distinct certificate numbers)."""
    lines = ["资格证书编码,姓名,身份证件号码,医师级别,执业类别,取得年份,发证日期,发证机关"]
    for i in range(n):
        born = date(1960 + i % 40, 1 + i % 12, 1 + i % 28)
        number = make_resident_id("110101", born, i % 1000)
        lines.append(f"9{i:023d},{name},{number},执业医师,1,2010,2010-07-01,国家卫生健康委员会")
    return "\n".join(lines) + "\n"


def _statements_of_one_batch(world: World, text: str) -> tuple[int, int]:
    """The statements sent by the one step that imports the whole of ``text``: (reads of the
    stored file, all others)."""
    job_id = imports.create(user(world.admin_id), "qualifications", "q.csv", text.encode())
    actor = user(world.admin_id)
    sent: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        sent.append(statement)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        job = imports.step(actor, job_id, batch=1000)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert job.status == "done" and job.failed == 0
    reads = sum(1 for s in sent if "substr(import_job.content" in s)
    return reads, len(sent) - reads


def test_a_batch_costs_the_same_statements_for_50_rows_as_for_500(world: World) -> None:
    # issue 14 goal 5 (CSV import of 100k rows ≥ 1,000 rows/s): a batch's records are read
    # with one query per table and written with one INSERT / one UPDATE per table, so the
    # statements of a batch do not grow with its rows (before: on SQLite one INSERT per row,
    # 60 statements for 50 rows; earlier still four round trips per row); the file is read
    # from the database in windows of a million characters (the header's first)
    reads_50, new_50 = _statements_of_one_batch(world, _qualifications(50))
    reads_new, new_500 = _statements_of_one_batch(world, _qualifications(500, "王芳"))  # 450 new, 50 existing
    reads_again, again_500 = _statements_of_one_batch(world, _qualifications(500, "张伟"))  # all 500 exist
    assert new_50 == again_500 and new_500 == new_50 + 1 <= 12  # both: an INSERT and an UPDATE
    assert reads_50 <= reads_new == reads_again <= 2
    names = db.session.execute(select(Qualification.name, func.count()).where(Qualification.cert_no.like("9%"))
                               .group_by(Qualification.name)).all()
    assert names == [("张伟", 500)]  # the last file updated every row of the first two


def test_rows_naming_one_record_twice_apply_in_file_order(world: World) -> None:
    # a corrected file updates in place (docs: 数据导入), also when one batch names a record
    # twice: both rows count as imported, the later one's values win, as row by row
    text = _qualifications(1, "王一") + _qualifications(2, "王二").split("\n", 1)[1]
    job = _run(world, "qualifications", text)
    assert (job.total, job.imported, job.failed) == (3, 3, 0)
    stored = db.session.execute(select(Qualification.cert_no, Qualification.name)
                                .where(Qualification.cert_no.like("9%")).order_by(Qualification.cert_no)).all()
    assert [name for _no, name in stored] == ["王二", "王二"]


@pytest.mark.parametrize("window", [imports.WINDOW, 7])
def test_batches_resume_after_quoted_lines_and_blank_lines_with_the_right_line_numbers(
        world: World, monkeypatch: pytest.MonkeyPatch, window: int) -> None:
    # each batch starts where the last one stopped (the job keeps its place in the file,
    # migration 0033), and the error report still names the line a person sees in the file;
    # the file is read in windows (here also of 7 characters: lines cut anywhere)
    monkeypatch.setattr(imports, "WINDOW", window)
    lines = INSTITUTIONS.splitlines()
    text = "\n".join([lines[0], lines[1].replace("太原市小店区", '"太原市小店区\n坞城路"'), "", lines[2],
                      lines[3], "", "", lines[4], lines[5]]) + "\n"
    job_id = imports.create(user(world.admin_id), "institutions", "a.csv", text.encode())
    seen = [imports.step(user(world.admin_id), job_id, batch=2).processed for _ in range(3)]
    job = imports.get(job_id)
    assert seen == [2, 4, 5] and (job.imported, job.failed, job.status) == (2, 3, "done")
    assert [(e[0], e[1]) for e in job.errors] == [(5, "登记机关区划代码"), (6, "机构名称"), (9, "诊疗科目")]
    address = db.session.scalar(select(Institution.address).where(Institution.reg_no == "PDY-001"))
    assert address == "太原市小店区\n坞城路"


def test_a_job_stored_before_it_kept_its_place_resumes_after_its_processed_rows(world: World) -> None:
    # a job half done when migration 0033 ran has position 0: its processed rows are skipped
    job_id = imports.create(user(world.admin_id), "institutions", "a.csv", INSTITUTIONS.encode())
    job = imports.step(user(world.admin_id), job_id, batch=2)
    job.position = 0
    db.session.commit()
    rest = imports.step(user(world.admin_id), job_id, batch=10)
    assert (rest.processed, rest.imported, rest.failed, rest.status) == (5, 2, 3, "done")
    assert [e[0] for e in rest.errors] == [3, 4, 5]


def test_a_value_too_long_for_its_column_is_reported_next_to_it(world: World) -> None:
    # every column is checked before the row changes anything (a 地址 of 201 characters was
    # stored cut or refused by PostgreSQL, failing the whole batch)
    text = INSTITUTIONS.replace("太原市小店区", "小" * 201)
    job = _run(world, "institutions", text)
    assert (job.imported, job.failed) == (1, 4)
    assert [2, "地址", "地址不能超过 200 个字"] in job.errors


def test_the_trail_names_who_imported_which_file(world: World) -> None:
    # the audit trail of an import: who, which job, how many rows, the file's SHA-256
    raw = INSTITUTIONS.encode()
    job = _run(world, "institutions", INSTITUTIONS)
    events = db.session.execute(select(AuditEvent.actor_id, AuditEvent.action, AuditEvent.detail)
                                .where(AuditEvent.object_type == "import_job", AuditEvent.object_id == str(job.id))
                                .order_by(AuditEvent.id)).all()
    assert events == [
        (world.admin_id, "import.created",
         {"kind": "institutions", "rows": 5, "sha256": hashlib.sha256(raw).hexdigest()}),
        (world.admin_id, "import.finished", {"kind": "institutions", "imported": 2, "failed": 3}),
    ]
