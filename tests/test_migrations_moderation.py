"""Migration 0006_moderation: an upgraded empty database matches the models, on both backends."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from forum import create_app
from forum.extensions import db
from tests.conftest import make_test_config


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.db'}"
    return request.getfixturevalue("postgres").create_database("moderation_mig")


def test_upgrade_matches_the_models_and_downgrades(tmp_path, empty_database):
    app = create_app(make_test_config(tmp_path, empty_database))
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []
        downgrade(revision="0001_foundation")
        upgrade()
        db.engine.dispose()
