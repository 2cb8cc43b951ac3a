"""Configuration: defaults that just work, FORUM_* overrides, and production refusals."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from forum import create_app
from forum.config import ConfigurationError

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_use_the_instance_folder_and_generate_a_secret_once(tmp_path, monkeypatch):
    for key in [k for k in os.environ if k.startswith("FORUM_")]:
        monkeypatch.delenv(key)
    instance = tmp_path / "instance"
    app = create_app({"INSTANCE_PATH": str(instance)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'forum.db'}"
    assert app.config["SEARCH_INDEX_DIR"] == str(instance / "search-index")
    key_file = instance / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(app.config["SECRET_KEY"]) >= 32
    again = create_app({"INSTANCE_PATH": str(instance)})
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]


def test_environment_variables_override(tmp_path, monkeypatch):
    monkeypatch.setenv("FORUM_DATABASE_URL", "sqlite:////tmp/elsewhere.db")
    monkeypatch.setenv("FORUM_SITE_NAME", "Help Each Other")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:////tmp/elsewhere.db"
    assert app.config["SITE_NAME"] == "Help Each Other"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DEBUG": True, "SECRET_KEY": "k" * 40}, "DEBUG is on"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY is shorter"),
        ({"SECRET_KEY": "k" * 40, "WORKERS": 4, "RATELIMIT_STORAGE_URI": "memory://"}, "memory://"),
    ],
)
def test_production_refuses_unsafe_settings(tmp_path, overrides, message):
    with pytest.raises(ConfigurationError, match=message):
        create_app({"INSTANCE_PATH": str(tmp_path), "ENV": "production", **overrides})


def test_production_accepts_safe_settings(tmp_path):
    app = create_app(
        {"INSTANCE_PATH": str(tmp_path), "ENV": "production", "SECRET_KEY": "k" * 40, "WORKERS": 4,
         "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379"}
    )  # fmt: skip
    assert app.config["ENV"] == "production"


def test_the_cli_exits_non_zero_and_does_not_print_the_secret(tmp_path):
    secret = "tooshort-secret"
    env = {
        **os.environ,
        "FORUM_ENV": "production",
        "FORUM_SECRET_KEY": secret,
        "FORUM_INSTANCE_PATH": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "forum", "routes"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Refusing to start in production" in result.stderr
    assert secret not in result.stdout + result.stderr
