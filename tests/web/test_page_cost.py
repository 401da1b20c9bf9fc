"""The fixed cost of a page (issue 14 goal 1): the statements each page sends, counted — never
timed — so that a change that adds a round trip to every page fails here."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import CatalogueItem
from app.models import HumanTask
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import resubmit
from tests.factories import submit_registration
from tests.statements import selects_of


def test_the_physician_home_costs_two_queries(app: Flask, web_world: World) -> None:
    # issue 14 goal 1: the session with its person and their 消息 count, the physician's open tasks
    client = WebClient.signed_in(app, "doctor01")
    client.get("/physician/")
    selects, page = selects_of(app, lambda: client.get("/physician/").get_data(as_text=True))
    assert "宋宏强" in page and "业务申请" in page
    assert len(selects) == 2, "\n".join(selects)  # 3 before the third round


def test_the_task_page_reads_its_task_instance_and_parties_at_once_and_no_workflow_state(
        app: Flask, web_world: World) -> None:
    # issue 14 goal 1: the task, its instance and the instance's applicant, qualification and
    # institution are one statement (were three, then two); the definition version's forms come
    # from the cache of immutable versions (no row of diagram, forms and spec is read); no page
    # reads the stored workflow state (about 10 KiB an instance)
    task_id = submit_registration(app, web_world)
    staff = WebClient.signed_in(app, "jigou01")
    staff.get(f"/inbox/tasks/{task_id}")
    selects, page = selects_of(app, lambda: staff.get(f"/inbox/tasks/{task_id}").get_data(as_text=True))
    assert "医疗机构确认" in page and "宋宏强" in page
    first = [s for s in selects if "FROM human_task" in s][0]
    assert "JOIN process_instance" in first and "JOIN user_account" in first
    assert "JOIN qualification" in first and "JOIN institution" in first
    assert not [s for s in selects if "workflow_json" in s or "bpmn_xml" in s]
    # 16 before the second round, 11 the third, 9 the fourth, 8 the fifth (parties with the
    # task), then the steps and the comments in one; the catalogue and the institution's 科室
    # kept in the process's memory, their stamps and the applicant's 执业类别 read with the task
    assert not [s for s in selects if "FROM qualification" in s and "JOIN" not in s], "\n".join(selects)
    assert not [s for s in selects if "FROM department" in s], "\n".join(selects)
    assert len(selects) == 3, "\n".join(selects)


def test_the_task_page_reads_the_steps_and_its_organisations_comments_in_one_statement(
        app: Flask, web_world: World) -> None:
    # issue 14 goal 1 (fifth round): the application's steps and the internal comments (内部备注)
    # of the actor's organisation come in one statement; the comments stay the organisation's
    task_id = submit_registration(app, web_world)
    staff = WebClient.signed_in(app, "jigou01")
    with app.app_context():
        instance_id = db.session.get(HumanTask, task_id).instance_id  # type: ignore[union-attr]
    staff.post(f"/inbox/applications/{instance_id}/comments",
               {"comment": "聘用合同原件已核对", "task_id": str(task_id)})
    selects, page = selects_of(app, lambda: staff.get(f"/inbox/tasks/{task_id}").get_data(as_text=True))
    comments = page.split('<ul class="comments">')[1].split("</ul>")[0]
    assert "聘用合同原件已核对" in comments and "山西大学医院医务科" in comments
    assert "医疗机构确认" in page and "提交申请" in page  # the step waiting, the history
    both = [s for s in selects if "FROM task_comment" in s or "FROM human_task" in s]
    assert len(both) == 2, "\n".join(both)  # the task with its instance, the steps + comments
    assert [s for s in both if "FROM task_comment" in s and "UNION ALL" in s]


def test_a_decision_posted_without_its_choice_is_shown_again_without_reading_the_state_twice(
        app: Flask, web_world: World) -> None:
    # issue 14 goal 1 (task form POST): refused input is shown again, with the error next to
    # the field; the step read the instance once, the page read no workflow state
    task_id = submit_registration(app, web_world)
    staff = WebClient.signed_in(app, "jigou01")
    page = staff.get(f"/inbox/tasks/{task_id}").get_data(as_text=True)
    assert "医疗机构确认" in page
    selects, resp = selects_of(app, lambda: staff.post(f"/inbox/tasks/{task_id}/complete", {}))
    assert resp.status_code == 422 and "医疗机构确认" in resp.get_data(as_text=True)
    assert len([s for s in selects if "workflow_json" in s]) <= 1, "\n".join(selects)


def test_the_inbox_list_never_reads_the_workflow_state(app: Flask, web_world: World) -> None:
    # issue 14 goal 1: a list page reads the columns it shows (never workflow_json)
    submit_registration(app, web_world)
    staff = WebClient.signed_in(app, "jigou01")
    selects, page = selects_of(app, lambda: staff.get("/inbox/").get_data(as_text=True))
    assert 'href="/inbox/tasks/' in page
    assert not [s for s in selects if "workflow_json" in s or "bpmn_xml" in s]


def test_the_application_form_reads_no_diagram_row(app: Flask, web_world: World) -> None:
    # issue 14 goal 1 (start form GET): the newest published version comes from the request's
    # list of newest versions and the cache of versions, not from its stored row (diagram,
    # forms and spec: tens of KiB)
    client = WebClient.signed_in(app, "doctor01")
    client.get("/physician/apply/registration")
    selects, page = selects_of(app, lambda: client.get("/physician/apply/registration").get_data(as_text=True))
    assert "拟执业机构" in page and "执业范围" in page
    assert not [s for s in selects if "bpmn_xml" in s or "workflow_json" in s]


def _scope_name(app: Flask, code: str) -> str:
    with app.app_context():
        name = db.session.scalar(select(CatalogueItem.name).where(
            CatalogueItem.kind == "practice_scope", CatalogueItem.code == code))
        assert name is not None
        return name


def test_the_task_page_names_the_chosen_institution_department_and_scope_without_reading_every_one(
        app: Flask, web_world: World) -> None:
    # issue 14 goal 1 (second round): the read-only application shows the names of what was
    # chosen; it reads those rows only — not every institution of the country, every
    # department and every scope a form could offer. The applicant, qualification and
    # institution are one statement (with the task since the fifth round); the catalogue
    # (执业类别 and 执业范围) is kept in the process's memory (fifth round: its stamp read with
    # the person's 执业类别, no statement).
    task_id = submit_registration(app, web_world)
    staff = WebClient.signed_in(app, "jigou01")
    staff.get(f"/inbox/tasks/{task_id}")
    selects, page = selects_of(app, lambda: staff.get(f"/inbox/tasks/{task_id}").get_data(as_text=True))
    shown = page.split("申请内容")[1]
    assert "山西大学医院" in shown and "内科" in shown and _scope_name(app, "11") in shown
    assert "昆明市第一人民医院" not in page and "外科" not in page  # the other hospital's
    assert not [s for s in selects if "FROM institution" in s and "WHERE" not in s], "\n".join(selects)
    assert not [s for s in selects if "FROM department" in s and "department.id IN" not in s]
    assert not [s for s in selects if "FROM catalogue_item" in s], "\n".join(selects)
    assert len([s for s in selects if "JOIN user_account" in s and "process_instance" in s]) == 1


def test_the_application_form_reads_no_institution_nor_department_until_one_is_chosen(
        app: Flask, web_world: World) -> None:
    # issue 14 (拟执业机构 at national scale): the start form lists no institution and no
    # 科室 of the country (were all of both); the person's scopes are there, the catalogue from
    # the process's memory (fifth round: read again only when its stamp moved)
    client = WebClient.signed_in(app, "doctor01")
    client.get("/physician/apply/registration")
    selects, page = selects_of(app, lambda: client.get("/physician/apply/registration").get_data(as_text=True))
    assert "山西大学医院" not in page and "昆明市第一人民医院" not in page
    dept_field = page.split('id="field-department_id"')[1].split("</select>")[0]
    assert "请选择" in dept_field and "内科" not in dept_field and _scope_name(app, "11") in page
    assert "data-departments='{}'" in page
    assert not [s for s in selects if "FROM institution" in s or "FROM department" in s], \
        "\n".join(selects)
    assert not [s for s in selects if "FROM catalogue_item" in s], "\n".join(selects)
    # 14 before the second round, 12 the third, then no list of institutions or 科室 (−2), the
    # 消息 count and the publication stamp with the session (−2); the fifth round: the open
    # applications of the type and of its conflicting types at once (−1), the catalogue kept (−1),
    # the qualification with its registrations, the catalogue's stamp, whether the person holds
    # other qualifications and their open applications at once (−3); the configured types read
    # only when their stamp, read with the session, moved (−1)
    assert len(selects) == 2, "\n".join(selects)


def test_the_physicians_returned_task_reads_no_workflow_state_and_every_department_once(
        app: Flask, web_world: World) -> None:
    # issue 14 goal 1 (second round, the physician's task page): a returned application is
    # shown again with its values and the approver's note; the task and its instance are read
    # without the workflow state, the departments once (list and map)
    task_id = submit_registration(app, web_world)
    staff = WebClient.signed_in(app, "jigou01")
    staff.get(f"/inbox/tasks/{task_id}")
    staff.post(f"/inbox/tasks/{task_id}/complete",
               {"decision": "return", "note": "联系电话有误", "fields": ["contact_mobile"]})
    with app.app_context():
        mine = db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open"))
    doctor = WebClient.signed_in(app, "doctor01")
    doctor.get(f"/physician/tasks/{mine}")
    selects, page = selects_of(app, lambda: doctor.get(f"/physician/tasks/{mine}").get_data(as_text=True))
    assert "联系电话有误" in page and "审核意见要求补正此项" in page and "内科" in page
    assert not [s for s in selects if "workflow_json" in s], "\n".join(selects)
    assert len([s for s in selects if "FROM department" in s]) == 1
    # 15 before the second round, 11 the third, 9 the fourth; the fifth: the catalogue kept in
    # the process's memory (its stamp read with the person's 执业类别); the configured types read
    # only when their stamp, read with the session, moved
    assert len(selects) == 7, "\n".join(selects)


def test_the_newest_published_versions_are_read_once_per_publication(app: Flask, web_world: World) -> None:
    # issue 14 goal 1: staff pages name the published business types (filters, menu, type
    # names); the set is read again only when the publication stamp read with the session
    # changed, so a version another process publishes is on the very next page — also one that
    # commits after a version with a larger id (PostgreSQL hands ids out before the commit)
    from sqlalchemy import func

    from app.models import ProcessDefinition
    from app.services.backoffice import definitions
    from app.services.platform import pagehead

    published = ProcessDefinition.published_at.is_not(None)

    def stamp() -> tuple[int, int]:
        with app.app_context():
            newest = db.session.scalar(select(func.max(ProcessDefinition.id)).where(published))
            count = db.session.scalar(select(func.count()).select_from(ProcessDefinition).where(published))
            db.session.remove()
            return int(newest or 0), int(count or 0)

    def newest(at: tuple[int, int]) -> tuple[list[str], list[tuple[int, str, str]]]:
        with app.test_request_context():
            pagehead.remember_stamp(*at)
            found = selects_of(app, definitions.newest_published)
            db.session.remove()
            return found

    def publish(new_id: int | None = None) -> tuple[int, tuple[int, str, str]]:
        with app.app_context():  # another process publishes a new version of 注册
            old = db.session.scalar(select(ProcessDefinition).where(
                ProcessDefinition.process_id == "registration", published).order_by(ProcessDefinition.version.desc()))
            assert old is not None
            row = ProcessDefinition(process_id=old.process_id, version=old.version + 1, name=old.name,
                                    bpmn_xml=old.bpmn_xml, forms=old.forms, spec_json=old.spec_json,
                                    sha256=old.sha256, published_at=old.published_at, author="other",
                                    **({"id": new_id} if new_id is not None else {}))
            db.session.add(row)
            db.session.commit()
            out = row.id, (old.id, old.process_id, old.name)
            db.session.remove()
            return out

    first = stamp()
    first_reads, before = newest(first)
    again_reads, again = newest(first)
    assert (len(first_reads), len(again_reads), again) == (1, 0, before)
    added: list[int] = []
    try:
        new_id, old_row = publish()
        added.append(new_id)
        reads, after = newest(stamp())
        assert len(reads) == 1 and (new_id, "registration", old_row[2]) in after
        assert old_row not in after and old_row in before
        assert newest(first) == ([], before), "a page that read the old stamp keeps what it read"
        # a version with a smaller id than the newest commits later: the count changes the stamp
        late_id, _previous = publish(new_id=-7)
        added.append(late_id)
        reads, latest = newest(stamp())
        assert len(reads) == 1 and (late_id, "registration", old_row[2]) in latest
    finally:
        with app.app_context():
            db.session.execute(ProcessDefinition.__table__.delete().where(ProcessDefinition.id.in_(added)))
            db.session.commit()
        definitions.forget_versions()


def test_a_resubmitted_task_labels_the_application_and_its_changes_with_one_read_of_the_catalogue(
        app: Flask, web_world: World) -> None:
    # issue 14 goal 1 (fifth round): the 补正 changes (修改前 / 修改后) are labelled with the
    # options read for the application (one catalogue and one 科室 read, were two of each);
    # 行政许可法 第三十二条 (补正: the approver sees what was changed)
    task_id = submit_registration(app, web_world, "doctor01")
    staff = WebClient.signed_in(app, "jigou01")
    staff.post(f"/inbox/tasks/{task_id}/complete",
               {"decision": "return", "note": "执业范围有误", "fields": ["practice_scopes"]})
    doctor = WebClient.signed_in(app, "doctor01")
    with app.app_context():
        mine = db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open"))
    form_page = doctor.get(f"/physician/tasks/{mine}").get_data(as_text=True)
    form = {"department_id": str(web_world.department_id), "practice_scopes": ["12"],
            "contact_mobile": "15175070658", "declare_health": "on", "declare_no_bar": "on"}
    again = resubmit(app, doctor, mine, form_page, form)
    staff.get(f"/inbox/tasks/{again}")
    selects, page = selects_of(app, lambda: staff.get(f"/inbox/tasks/{again}").get_data(as_text=True))
    section = page.split("本次补正修改的内容")[1].split("申请内容")[0]
    assert section.count("<tr>") == 2, section  # the header and the one changed field
    assert _scope_name(app, "11") in section and _scope_name(app, "12") in section
    # at most one (none while the catalogue kept in the process's memory holds its stamp)
    assert len([s for s in selects if "FROM catalogue_item" in s]) <= 1, "\n".join(selects)
    assert len([s for s in selects if "FROM department" in s]) <= 1, "\n".join(selects)
