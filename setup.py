"""Build step: the top-level bpmn/, forms/, migrations/ and test cases become package data.

The repository keeps them at the top level; the wheel carries them as ``app/_data/...``,
where ``app.resources`` finds them with ``importlib.resources``. Everything else is in
pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# (folder in the repository, glob of the files that ship)
DATA = (
    ("bpmn", "*.bpmn"),
    ("forms", "*.json"),
    ("migrations", "*"),
    ("migrations/versions", "*.py"),
    ("workflows_tests", "*/*.json"),  # the test cases: workflows_tests/<process_id>/*.json
)


class BuildPyWithData(build_py):
    """Copy the top-level data folders into ``<build>/app/_data`` (not for editable installs,
    which read the checkout directly)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "app" / "_data"
        for folder, pattern in DATA:
            for src in sorted((HERE / folder).glob(pattern)):
                if not src.is_file() or "__pycache__" in src.parts:
                    continue
                dest = target / src.relative_to(HERE)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest)
        missing = [f for f in ("bpmn", "forms", "migrations") if not (target / f).is_dir()]
        if missing:
            raise SystemExit(f"build: {', '.join(missing)}/ missing from the source tree")


setup(cmdclass={"build_py": BuildPyWithData})
