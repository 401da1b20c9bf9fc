"""A production install that works (issue 12 §7): the shipped folders are package data found
through ``importlib.resources``, the wheel carries them, the first administrator is created from
the command line, and a missing baseline is an error rather than "nothing new"."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from app import resources
from app.extensions import db
from app.models import Role
from app.models import User
from tests.conftest import WebClient

ROOT = Path(__file__).resolve().parents[2]


def test_the_checkout_s_folders_are_found_through_importlib_resources() -> None:
    assert resources.base() == ROOT  # no app/_data in a checkout: the top-level folders
    assert (resources.bpmn_dir() / "registration.bpmn").is_file()
    assert (resources.forms_dir() / "registration_apply.json").is_file()
    migrations = resources.migrations_dir()
    assert (migrations / "env.py").is_file() and (migrations / "versions" / "0001_initial_schema.py").is_file()
    assert sorted(p.name for p in resources.bpmn_dir().glob("*.bpmn")) == \
        sorted(p.name for p in (ROOT / "bpmn").glob("*.bpmn"))


def test_the_installed_layout_wins_and_test_cases_are_listed_per_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the wheel's app/_data/...; resources.base() is what every reader asks
    data = tmp_path / "_data"
    (data / "workflows_tests" / "registration").mkdir(parents=True)
    (data / "workflows_tests" / "registration" / "b.json").write_text("{}", "utf-8")
    (data / "workflows_tests" / "registration" / "a.json").write_text("{}", "utf-8")
    (data / "workflows_tests" / "change").mkdir()
    (data / "workflows_tests" / "change" / "c.json").write_text("{}", "utf-8")
    monkeypatch.setattr(resources, "base", lambda: data)
    assert [p.name for p in resources.case_files("registration")] == ["a.json", "b.json"]
    assert [p.name for p in resources.case_files()] == ["c.json", "a.json", "b.json"]
    with pytest.raises(resources.MissingResource, match="找不到 bpmn/ 目录"):
        resources.bpmn_dir()


def test_a_missing_baseline_folder_is_an_error_not_nothing_new(
        app: Flask, clean_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: a wheel without bpmn/ said "已加载：无（均已存在）" and loaded nothing.
    monkeypatch.setattr(resources, "base", lambda: tmp_path)
    result = app.test_cli_runner().invoke(args=["bpmn", "load"])
    assert result.exit_code == 1, result.output
    assert "找不到 bpmn/ 目录" in result.output and str(tmp_path / "bpmn") in result.output
    assert "均已存在" not in result.output
    (tmp_path / "bpmn").mkdir()
    result = app.test_cli_runner().invoke(args=["bpmn", "load"])
    assert result.exit_code == 1 and "bpmn/ 目录中没有流程图" in result.output, result.output
    result = app.test_cli_runner().invoke(args=["seed", "--no-demo"])
    assert result.exit_code == 1 and "bpmn/ 目录中没有流程图" in result.output, result.output


def test_bpmn_load_with_the_baseline_in_place_says_what_it_did(app: Flask, clean_db: None) -> None:
    result = app.test_cli_runner().invoke(args=["bpmn", "load"])
    assert result.exit_code == 0 and "已加载：无（均已存在）" in result.output, result.output


def test_create_admin_reads_the_password_from_stdin_and_the_admin_signs_in(
        app: Flask, clean_db: None, web: WebClient) -> None:
    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", "--username", "sysadmin", "--password-stdin"],
        input="Start2026\n")
    assert result.exit_code == 0, result.output
    assert "已创建系统管理员 sysadmin" in result.output and "Start2026" not in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "sysadmin"))
        assert user is not None and user.role is Role.ADMIN and user.display_name == "系统管理员"
    web.login("sysadmin", "Start2026")
    page = web.get("/admin/", follow_redirects=True)
    assert page.status_code == 200, page.status_code


def test_create_admin_refuses_a_weak_password_and_a_taken_name(app: Flask, clean_db: None) -> None:
    # 指南（账户注册）："密码要求6至16位数字和字母组合，密码区分大小写" (guide row 7)
    runner = app.test_cli_runner()
    args = ["users", "create-admin", "--username", "sysadmin", "--password-stdin"]
    weak = runner.invoke(args=args, input="onlyletters\n")
    assert weak.exit_code == 1 and "密码必须同时包含字母和数字" in weak.output, weak.output
    short = runner.invoke(args=args, input="a1\n")
    assert short.exit_code == 1 and "密码要求6至16位数字和字母组合" in short.output, short.output
    with app.app_context():
        assert db.session.scalar(select(User.id).where(User.username == "sysadmin")) is None
    assert runner.invoke(args=args, input="Start2026\n").exit_code == 0
    again = runner.invoke(args=args, input="Other2026\n")
    assert again.exit_code == 1 and "该用户名已被使用" in again.output, again.output
    no_stdin_flag = runner.invoke(args=["users", "create-admin", "--username", "x"], input="Start2026\n")
    assert no_stdin_flag.exit_code == 2  # the password never comes from the command line


def _source_copy(dest: Path) -> Path:
    """What a build sees: the project files (the vendored assets stay a link), plus one test case."""
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in"):
        shutil.copy2(ROOT / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("app", "bpmn", "forms", "migrations", "workflows_tests"):
        shutil.copytree(ROOT / name, dest / name, symlinks=True, ignore=ignore)
    (dest / "workflows_tests" / "registration").mkdir(exist_ok=True)
    (dest / "workflows_tests" / "registration" / "wheel_probe.json").write_text("{}", "utf-8")
    return dest


def test_the_wheel_carries_diagrams_forms_migrations_and_test_cases(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    src = _source_copy(tmp_path / "src")
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q",
                          "-w", str(tmp_path / "dist")],
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("medreg-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, pattern in (("bpmn", "*.bpmn"), ("forms", "*.json"), ("migrations/versions", "*.py")):
        shipped = {f"app/_data/{folder}/{p.name}" for p in (ROOT / folder).glob(pattern)}
        assert shipped and shipped <= names, sorted(shipped - names)
    for name in ("env.py", "alembic.ini", "script.py.mako"):
        assert f"app/_data/migrations/{name}" in names
    assert "app/_data/workflows_tests/registration/wheel_probe.json" in names
    assert not any(n.startswith("app/_data/workflows_tests/") and n.endswith(".py") for n in names)
    assert "app/resources.py" in names and "app/templates/base.html" in names
