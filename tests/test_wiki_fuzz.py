"""Hypothesis-generated form data on every wiki form: always a 2xx/3xx/4xx answer, never a 500."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import login, make_thread
from tests.factories_wiki import make_editor, make_page

ODD_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.sampled_from("[]|`\n\x00<>&\"'#/%\\é日 "), max_size=200),
    st.sampled_from(
        ["", " ", "-1", "0", "99999999999999999999", "²", "1e3", "[[x]]", "[" * 600, "a" * 33000]
    ),
)
FIELDS = [
    "title",
    "body",
    "summary",
    "board_id",
    "base_revision_id",
    "revision_id",
    "reason",
    "preview",
    "submit",
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.dictionaries(st.sampled_from(FIELDS), ODD_TEXT, max_size=6), target=st.integers(0, 5))
def test_wiki_forms_never_fail(client, data, target):
    if not getattr(client, "_wiki_ready", False):
        client._wiki_ready = True  # one page, thread and login per test run, not per example
        client._wiki_page = make_page("Fuzz target")
        client._wiki_thread = make_thread(title="Fuzz thread", replies=1)
        login(client, make_editor("fuzzer", role="moderator"))
    page, thread = client._wiki_page, client._wiki_thread
    url = [
        "/wiki/new", f"{page.url}/edit", f"{page.url}/revert", f"{page.url}/rename",
        f"{page.url}/protect", f"/wiki/promote/{thread.id}",
    ][target]  # fmt: skip
    response = client.post(url, data=data)
    assert response.status_code < 500, (url, data)
