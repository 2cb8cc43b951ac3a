"""Markdown rendering is bounded for every input (issue #21).

The fuzz bodies are the shapes that made Python-Markdown slow in the square of their length
(13-15 s for `"=\\n" * 16000`) or recurse too deep (`"1. " * 496`). A bound in seconds depends on
the machine (a loaded CI runner took 1.17 s for a body that takes 0.19 s here), so the tests
check how the CPU time grows with the length instead: eight times the text may cost at most
32 times the time (the slowest accepted shape grows about 19-fold, a quadratic one 64-fold).
"""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forum import markup
from forum.errors import Invalid

LIMIT = 32_000
# Block markers, setext underlines, headings, rules, fences, list markers, quotes, emphasis,
# code spans, links, autolinks, tables, escapes, breaks: each repeated, alone or inside containers.
UNITS = [
    "=\n", "-\n", "a\n=\n", "a\n-\n", "# a\n", "#\n", "***\n", "* * *\n", "___\n", "```\n", "~~~\n",
    "```\nx\n```\n", "```x\n", "- ", "1. ", "- a\n", "1. a\n", ">", "> a\n", "*a", "*a*", "**a", "_a_ ",
    "`a", "](", "[a](b)", "|", "|a|\n", "a|b\n-|-\n", "    a\n", "<http://a", "www.", "a@b.", "@abc ",
    "\\*", "a  \n", "a\n", "~~", "9. a\n    ",
]  # fmt: skip
CONTAINERS = ["", "> ", "- ", "- >     "]


def _body(unit: str, container: str = "", length: int = LIMIT) -> str:
    line_unit = unit.replace("\n", "\n" + container) if container else unit
    return container + (line_unit * (length // len(line_unit) + 1))[: length - len(container)]


def _cpu_seconds_to_render(body: str) -> float:
    """CPU time to check and render `body` here (refused bodies count as done)."""
    started = time.process_time()
    try:
        markup.check_markdown_source(body)
        markup.new_renderer().convert(body)
    except Invalid:
        pass
    return time.process_time() - started


NOTICEABLE_SECONDS = 0.25  # below this a render is cheap on any machine; growth is not measured
MAX_GROWTH = 32  # CPU time for LIMIT characters over the time for LIMIT / 8


def _growth_with_length(unit: str, container: str) -> float | None:
    """How much more CPU time LIMIT characters take than an eighth of them, if noticeable."""
    full = _cpu_seconds_to_render(_body(unit, container))
    if full < NOTICEABLE_SECONDS:
        return None
    eighth = min(_cpu_seconds_to_render(_body(unit, container, LIMIT // 8)) for _ in range(3))
    full = min(full, _cpu_seconds_to_render(_body(unit, container)))  # the quieter of two runs
    return full / max(eighth, 0.001)


@pytest.mark.parametrize("container", CONTAINERS)
def test_pathological_bodies_render_in_time_that_grows_with_their_length(container):
    assert all(len(_body(unit, container)) == LIMIT for unit in UNITS)
    too_steep = {}
    for unit in UNITS:
        growth = _growth_with_length(unit, container)
        if growth is not None and growth >= MAX_GROWTH:
            too_steep[repr(unit)] = round(growth, 1)
    assert too_steep == {}


def test_the_growth_check_catches_a_quadratic_shape():
    """Without the source check, setext lines are quadratic: the measure must say so."""

    def unchecked(length: int) -> float:
        started = time.process_time()
        markup.new_renderer().convert(("=\n" * length)[:length])
        return time.process_time() - started

    growth = unchecked(16_000) / max(min(unchecked(2_000) for _ in range(3)), 0.001)
    assert growth >= MAX_GROWTH


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(UNITS), min_size=2, max_size=4), st.sampled_from(CONTAINERS))
def test_mixed_pathological_bodies_render_in_time_that_grows_with_their_length(units, container):
    growth = _growth_with_length("".join(units), container)
    assert growth is None or growth < MAX_GROWTH


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("=\n" * 16_000, "heading, rule or empty list lines"),
        ("-\n" * 16_000, "heading, rule or empty list lines"),
        ("```\n" * 8_000, "code fence lines"),
        ("1. " * 496, "nested more than 20 levels"),
        ("> " * 200 + "deep", "nested more than 20 levels"),
        ("*a*" * 10_000, "“*” and “_” characters"),
    ],
)
def test_issue_bodies_are_refused_with_a_message(body, message):
    with pytest.raises(Invalid) as refused:
        markup.render_markdown(body)
    assert message in refused.value.message
    assert refused.value.field == "body"


def test_ordinary_structure_still_renders():
    body = (
        "Title\n=====\n\n# Heading\n\n- one\n    - two\n        1. three\n\n> quote\n\n---\n\n**bold** _it_"
    )
    html = str(markup.render_markdown(body))
    for tag in ("<h1>Title</h1>", "<h1>Heading</h1>", "<li>three</li>", "<blockquote>", "<hr>", "<strong>"):
        assert tag in html


def test_only_the_first_indented_code_blocks_are_highlighted():
    body = "\n\n".join(f"text\n\n    block {n}" for n in range(markup.MAX_HIGHLIGHTED_BLOCKS + 5))
    html = str(markup.render_markdown(body))
    assert html.count('class="highlight"') == markup.MAX_HIGHLIGHTED_BLOCKS
    assert "<pre><code>block 54" in html  # later blocks are shown, plain


def test_a_render_over_its_cpu_budget_is_refused_and_the_worker_serves_on():
    heavy = "\n\n".join(
        f"Paragraph {n} with **bold** and `code` and a link http://example.org/{n}" for n in range(400)
    )
    with pytest.raises(Invalid) as refused:
        markup.render_markdown(heavy, budget=0.001)
    assert "too complex to display in time" in refused.value.message
    assert "<strong>bold</strong>" in markup.render_markdown(heavy)
    assert str(markup.render_markdown("still *here*")) == "<p>still <em>here</em></p>"


def test_renders_run_in_worker_processes_not_in_the_web_process():
    """A slow render spends a worker process's CPU, never a web worker's (two at once here)."""
    heavy = "a|b\n-|-\n" * 3_000
    threads = [
        threading.Thread(target=markup.render_markdown, args=(heavy,), kwargs={"budget": 5}) for _ in range(2)
    ]
    cpu_before = time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert "<table>" in markup.render_markdown(heavy)
    assert time.process_time() - cpu_before < 0.3  # the rendering (about 0.3 s each) happened elsewhere


# -- through the forms ---------------------------------------------------------------------------

NESTED = "1. " * 496  # raised RecursionError: a 500 on every Markdown form


@pytest.fixture
def writer(client):
    from tests.factories import login
    from tests.factories_wiki import make_editor

    user = make_editor("writer")
    login(client, user)
    return user


def _markdown_forms(thread, post, page):
    return [
        (f"/b/{thread.board.slug}/new", {"title": "A nested list", "body": NESTED}),
        (f"/b/{thread.board.slug}/new", {"title": "A nested list", "body": NESTED, "preview": "1"}),
        (f"/t/{thread.id}/reply", {"body": NESTED}),
        (f"/t/{thread.id}/reply", {"body": NESTED, "preview": "1"}),
        (f"/p/{post.id}/edit", {"title": thread.title, "body": NESTED}),
        (f"/p/{post.id}/edit", {"title": thread.title, "body": NESTED, "preview": "1"}),
        ("/wiki/new", {"title": "Nested lists", "body": NESTED}),
        ("/wiki/new", {"title": "Nested lists", "body": NESTED, "preview": "1"}),
        (f"/wiki/{page.slug}/edit", {"body": NESTED, "base_revision_id": str(page.current_revision_id)}),
        (f"/wiki/{page.slug}/edit", {"body": NESTED, "preview": "1"}),
    ]


def _opening_post(thread):
    from sqlalchemy import select

    from forum.boards.models import Post
    from forum.extensions import db

    return db.session.scalar(select(Post).where(Post.thread_id == thread.id, Post.position == 1))


def test_deeply_nested_lists_get_a_message_on_every_form(client, writer):
    from tests.factories import make_thread
    from tests.factories_wiki import make_page

    thread = make_thread(author=writer, title="Where nesting goes")
    page = make_page()
    for url, data in _markdown_forms(thread, _opening_post(thread), page):
        response = client.post(url, data=data)
        assert response.status_code == 422, url
        assert "nested more than 20 levels deep" in response.get_data(as_text=True), url


@pytest.fixture
def limited_config(app_config):
    app_config.update(
        RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", RATELIMIT_EDITING="3 per minute"
    )
    return app_config


@pytest.mark.parametrize("form", ["edit", "wiki_edit", "wiki_new"])
def test_edit_and_wiki_previews_are_rate_limited_per_member(limited_config, client, writer, form):
    from tests.factories import make_thread
    from tests.factories_wiki import make_page

    thread = make_thread(author=writer, title="Previewed often")
    page = make_page()
    url, data = {
        "edit": (
            f"/p/{_opening_post(thread).id}/edit",
            {"title": thread.title, "body": "*draft*", "preview": "1"},
        ),
        "wiki_edit": (f"/wiki/{page.slug}/edit", {"body": "*draft*", "preview": "1"}),
        "wiki_new": ("/wiki/new", {"title": "A new page", "body": "*draft*", "preview": "1"}),
    }[form]
    for _ in range(3):
        response = client.post(url, data=data)
        assert response.status_code == 200 and "<em>draft</em>" in response.get_data(as_text=True)
    response = client.post(url, data=data)
    assert response.status_code == 429
    assert "editing or previewing very fast" in response.get_data(as_text=True)
