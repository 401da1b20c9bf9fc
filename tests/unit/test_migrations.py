"""The migrations, run on an empty database, match the models (no drift)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import Column
from sqlalchemy import Integer
from sqlalchemy import Table

from app.extensions import db


def test_models_and_migrations_agree(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


def test_the_check_notices_drift(app: Flask) -> None:
    probe = Table("drift_probe", db.metadata, Column("id", Integer, primary_key=True))
    try:
        result = app.test_cli_runner().invoke(args=["db", "check"])
    finally:
        db.metadata.remove(probe)
    assert result.exit_code != 0
