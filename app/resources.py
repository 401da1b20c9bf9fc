"""The files the application ships besides its code: diagrams, forms, migrations, test cases.

The repository keeps them at the top level (``bpmn/``, ``forms/``, ``migrations/``,
``workflows_tests/<process_id>/*.json``); a wheel carries them inside the package as
``app/_data/...`` (setup.py copies them at build time). Every reader asks this module, so a
checkout and an installed wheel find the same files through ``importlib.resources``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PACKAGED = "_data"  # app/_data/ in a built wheel
FOLDERS = ("bpmn", "forms", "migrations", "workflows_tests")


class MissingResource(RuntimeError):
    """A folder the application needs is not where the install should have put it."""


def _package_root() -> Path:
    root = resources.files("app")
    if not isinstance(root, Path):  # e.g. a zipped install: Flask-Migrate needs real folders
        raise MissingResource(f"应用程序包不在文件系统上（{root}），无法读取流程图和迁移脚本")
    return root


def base() -> Path:
    """The folder holding bpmn/, forms/, migrations/: the wheel's app/_data, else the checkout."""
    root = _package_root()
    packaged = root / PACKAGED
    return packaged if packaged.is_dir() else root.parent


def folder(name: str) -> Path:
    """One shipped folder (``bpmn``, ``forms``, ``migrations``, ``workflows_tests``), which
    must exist: a missing one is an install error with the path it looked at."""
    if name not in FOLDERS:
        raise ValueError(f"unknown resource folder {name!r}")
    path = base() / name
    if not path.is_dir():
        raise MissingResource(f"找不到 {name}/ 目录（查找位置：{path}）；安装包不完整，请重新构建并安装")
    return path


def bpmn_dir() -> Path:
    return folder("bpmn")


def forms_dir() -> Path:
    return folder("forms")


def migrations_dir() -> Path:
    return folder("migrations")


def case_files(process_id: str | None = None) -> list[Path]:
    """The test cases ``workflows_tests/<process_id>/*.json`` (all processes when None)."""
    root = base() / "workflows_tests"
    if not root.is_dir():
        return []
    pattern = f"{process_id}/*.json" if process_id else "*/*.json"
    return sorted(root.glob(pattern))
