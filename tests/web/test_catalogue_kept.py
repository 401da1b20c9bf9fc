"""The catalogue (执业类别, 执业范围) a web process keeps in memory is never stale (issue 14 goal
1, fifth round): a change of catalogue_item — whoever makes it, even plain SQL — moves its stamp
(database triggers), and the very next form page shows the change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import text

from app.extensions import db
from app.models import Qualification
from app.models import User
from app.services.applications import prepare
from tests.conftest import WebClient
from tests.factories import World
from tests.factories import submit_registration
from tests.statements import selects_of

RENAMED = "普通内科（目录已更新）"


def _sql(app: Flask, statement: str, **params: object) -> None:
    """An administrator's change, committed outside any page (as another process would)."""
    with app.app_context():
        db.session.execute(text(statement), params)
        db.session.commit()
        db.session.remove()


def _scope_11(app: Flask) -> tuple[str, bool]:
    with app.app_context():
        row = db.session.execute(text(
            "SELECT name, active FROM catalogue_item WHERE kind = 'practice_scope' AND code = '11'")).one()
        db.session.remove()
        return str(row[0]), bool(row[1])


@pytest.fixture()
def scope_11(app: Flask) -> Iterator[str]:
    """The name of 执业范围 11, put back as it was after the test (the catalogue is reference
    data, kept between tests)."""
    name, active = _scope_11(app)
    yield name
    _sql(app, "UPDATE catalogue_item SET name = :name, active = :active"
              " WHERE kind = 'practice_scope' AND code = '11'", name=name, active=active)
    _sql(app, "DELETE FROM catalogue_item WHERE kind = 'practice_scope' AND code = '1-test'")


def _form(client: WebClient) -> str:
    page = client.get("/physician/apply/registration").get_data(as_text=True)
    return page.split('id="field-practice_scopes"')[1].split("</fieldset>")[0]


def test_the_application_form_shows_a_catalogue_change_at_once(
        app: Flask, web_world: World, scope_11: str) -> None:
    # issue 14 goal 1: the catalogue is kept per process only under the stamp the triggers move
    client = WebClient.signed_in(app, "doctor01")
    assert scope_11 in _form(client) and scope_11 in _form(client)  # the second from memory
    _sql(app, "UPDATE catalogue_item SET name = :name WHERE kind = 'practice_scope' AND code = '11'",
         name=RENAMED)
    scopes = _form(client)
    assert RENAMED in scopes and scope_11 not in scopes
    _sql(app, "UPDATE catalogue_item SET active = :no WHERE kind = 'practice_scope' AND code = '11'",
         no=False)
    assert RENAMED not in _form(client)  # a scope switched off is offered no more
    _sql(app, "INSERT INTO catalogue_item (kind, code, name, parent_code, scope_level, sort_order,"
              " active) VALUES ('practice_scope', '1-test', '新增的执业范围', '1', 'national', 999, :yes)",
         yes=True)
    assert "新增的执业范围" in _form(client)
    _sql(app, "DELETE FROM catalogue_item WHERE kind = 'practice_scope' AND code = '1-test'")
    assert "新增的执业范围" not in _form(client)


def test_the_task_page_names_a_scope_by_its_current_name(
        app: Flask, web_world: World, scope_11: str) -> None:
    # issue 14 goal 1: the read-only application on the institution's task page labels the
    # chosen 执业范围 from the same kept catalogue, renamed at once
    task_id = submit_registration(app, web_world)
    staff = WebClient.signed_in(app, "jigou01")

    def shown() -> str:
        return staff.get(f"/inbox/tasks/{task_id}").get_data(as_text=True).split("申请内容")[1]

    assert scope_11 in shown()
    _sql(app, "UPDATE catalogue_item SET name = :name WHERE kind = 'practice_scope' AND code = '11'",
         name=RENAMED)
    page = shown()
    assert RENAMED in page and scope_11 not in page


def test_a_catalogue_read_inside_a_change_that_was_rolled_back_is_not_kept(
        app: Flask, web_world: World, scope_11: str) -> None:
    # issue 14 goal 1: a process that read the catalogue inside a transaction that changed it
    # and rolled back keeps nothing the database does not hold (the next change gets a stamp
    # never seen before)
    client = WebClient.signed_in(app, "doctor01")
    with app.app_context():
        doctor = db.session.scalar(db.select(User).where(User.username == "doctor01"))
        assert doctor is not None
        db.session.execute(text("UPDATE catalogue_item SET name = '回滚的名称'"
                                " WHERE kind = 'practice_scope' AND code = '11'"))
        inside = prepare.form_options(doctor, wanted={"practice_scopes"})["practice_scopes"]
        assert "回滚的名称" in dict(inside).values()
        db.session.rollback()
        db.session.remove()
    scopes = _form(client)
    assert scope_11 in scopes and "回滚的名称" not in scopes
    _sql(app, "UPDATE catalogue_item SET name = :name WHERE kind = 'practice_scope' AND code = '11'",
         name=RENAMED)
    scopes = _form(client)
    assert RENAMED in scopes and "回滚的名称" not in scopes


def test_a_physician_qualified_in_two_categories_is_offered_the_scopes_of_both(
        app: Flask, web_world: World) -> None:
    # 执业范围暂行规定 (执业范围 within the 执业类别 of one's qualifications); R-45. The form
    # reads whether the person holds other qualifications with the qualification itself; with
    # one more (口腔), the scopes of both categories are offered, each named with its category
    client = WebClient.signed_in(app, "doctor01")
    assert 'value="31"' not in _form(client)
    with app.app_context():
        own = db.session.scalar(db.select(User).where(User.username == "doctor01")).qualification
        db.session.add(Qualification(
            cert_no=f"201514102{own.id_number}", name=own.name, sex=own.sex, id_number=own.id_number,
            birth_date=own.birth_date, level="执业医师", category="2", year=2015,
            issued_on=own.issued_on, issuer=own.issuer))
        db.session.commit()
        db.session.remove()
    scopes = _form(client)
    assert 'value="31"' in scopes and 'value="11"' in scopes
    assert "临床 · " in scopes and "口腔 · " in scopes


def test_the_task_page_names_a_renamed_department_at_once(app: Flask, web_world: World) -> None:
    # issue 14 goal 1: an institution's 科室 are kept per process only under the stamp database
    # triggers move on every change of department (migration 0035_reference_stamp): 科室维护 (or plain SQL)
    # renaming the application's department shows on the very next view of the task, and an
    # unchanged one is not read again
    task_id = submit_registration(app, web_world)
    staff = WebClient.signed_in(app, "jigou01")
    with app.app_context():
        name = db.session.execute(text("SELECT name FROM department WHERE id = :d"),
                                  {"d": web_world.department_id}).scalar_one()
        db.session.remove()

    def shown() -> str:
        return staff.get(f"/inbox/tasks/{task_id}").get_data(as_text=True).split("申请内容")[1]

    assert f"<dd>{name}</dd>" in shown()
    seen, page = selects_of(app, shown)
    assert f"<dd>{name}</dd>" in page
    assert not [s for s in seen if "FROM department" in s], "unchanged: kept"
    try:
        _sql(app, "UPDATE department SET name = :name WHERE id = :d", name="更名后的科室",
             d=web_world.department_id)
        page = shown()
        assert "<dd>更名后的科室</dd>" in page and f"<dd>{name}</dd>" not in page
    finally:
        _sql(app, "UPDATE department SET name = :name WHERE id = :d", name=name, d=web_world.department_id)
