"""The import rules of docs/ARCHITECTURE.md hold (import-linter contracts in .importlinter)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept(monkeypatch):
    from importlinter.cli import lint_imports

    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / ".importlinter"), no_cache=True) == 0, (
        "an import breaks a layer rule: run `.venv/bin/lint-imports` for the details"
    )


def test_a_broken_contract_is_reported(tmp_path, monkeypatch):
    """The check can fail: a lower layer importing a feature is refused."""
    from importlinter.cli import lint_imports

    config = tmp_path / "contracts.ini"
    config.write_text(
        "[importlinter]\nroot_package = forum\n\n"
        "[importlinter:contract:x]\nname = templating imports no boards\ntype = forbidden\n"
        "source_modules = forum.templating\nforbidden_modules = forum.boards\n"
    )
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(config), no_cache=True) == 1
