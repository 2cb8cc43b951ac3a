"""Features plug in through their init_app: an app built without one still serves the forum."""

from __future__ import annotations

import pytest

from forum import create_app
from forum.config import FEATURES, ConfigurationError
from tests.conftest import make_test_config
from tests.factories import login, make_board, make_reply, make_thread, make_user


@pytest.fixture(params=["ideas", "wiki", "nothing"])
def left_out(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def app_config(app_config, left_out):
    return {**app_config, "FEATURES": tuple(name for name in FEATURES if name != left_out)}


def test_an_app_without_a_feature_serves_boards_and_threads(app, client, left_out):
    """Left out: its pages, its board kind and its parts of the thread page ("nothing": all there)."""
    assert left_out not in app.blueprints
    questions = make_board("Broadband", slug="broadband", kind="questions")
    ideas = make_board("Ideas", slug="ideas", kind="ideas")
    question = make_thread(questions, title="Router keeps dropping wifi")
    idea = make_thread(ideas, title="Dark mode please")
    make_reply(question, body="Try another channel")
    member = make_user("reader")
    login(client, member)

    assert "Broadband" in client.get("/").get_data(as_text=True)
    for board in (questions, ideas):
        assert client.get(board.url).status_code == 200
    page = client.get(question.url).get_data(as_text=True)
    assert "Try another channel" in page
    assert client.post(f"/t/{question.id}/reply", data={"body": "That fixed it, thanks"}).status_code == 302
    assert "That fixed it, thanks" in client.get(question.url).get_data(as_text=True)
    idea_page = client.get(idea.url).get_data(as_text=True)
    if left_out == "ideas":
        # The ideas board lists its threads like any board; no idea panel, no vote buttons.
        assert "idea-panel" not in idea_page
        assert "Dark mode please" in client.get(ideas.url).get_data(as_text=True)
        assert client.post(f"/t/{idea.id}/vote", data={"vote": "1"}).status_code in (
            404,
            405,
        )  # no such action
    else:
        assert "idea-panel" in idea_page
    assert client.get("/wiki").status_code == (404 if left_out == "wiki" else 200)


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (("auth", "boards", "polls"), "no feature polls"),
        (("auth", "qa"), "must include the core: boards"),
    ],
)
def test_features_are_checked_at_start(tmp_path, features, message):
    config = make_test_config(tmp_path, f"sqlite:///{tmp_path / 'forum.db'}", FEATURES=features)
    with pytest.raises(ConfigurationError, match=message):
        create_app(config)
