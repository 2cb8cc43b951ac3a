"""Page extension points: slots that features fill, and data loaders that run before a page.

The thread and board pages belong to forum.boards, but other features add to them. Rather
than the page's template naming their partials, each feature's `init_app` registers what it
adds (docs/ARCHITECTURE.md lists the slots):

    pages.fill_slot(app, "thread.after_opening_post", "qa/_solution_notice.html")
    pages.fill_slot(app, "post.header", "qa/_post_header.html", macro="post_header")
    pages.fill_slot(app, "post.actions", render=post_actions_html)
    pages.add_loader(app, "thread", "qa", thread_state)

A page slot is filled by templates, included with the page's context; a slot inside a loop
(one per post, one per row) is filled by macros, called with fixed arguments, because a
macro call costs far less than an include, which copies the whole context. The post footer's
buttons (`post.actions`) are written by Python functions with the same arguments: four
macros there were 28% of a member's thread page, the functions a fifth of that. A loader runs
once per page with the page's objects and its result reaches the templates as
`features.<name>`; loaders keep the page's statement count bounded (tests/test_queries.py).
The registrations live on the app, so an app built without a feature has none of its parts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from jinja2 import pass_context
from markupsafe import Markup

# Slot name -> where it is and what a filler receives (templates: the page's context).
SLOTS: dict[str, str] = {
    "thread.head": "thread page, in the document's <head>: feeds, alternates (templates)",
    "thread.title": "thread page, after the title in its heading: marks like Solved (templates)",
    "thread.meta": "thread page, on the line under the title, after the byline (templates)",
    "thread.header": "thread page, in the header under the byline line: notices, tools (templates)",
    "thread.before_posts": "thread page, between the header and the posts (templates)",
    "thread.after_opening_post": "thread page, directly under the opening post (templates)",
    "thread.after_posts": "thread page, after the posts and their pages, before the reply box (templates)",
    "thread.sidebar": "thread page, a complementary aside after the posts (templates)",
    "composer.fields": "new thread, reply and edit forms, after the body field (templates; `form`)",
    "board.head": "board page, in the document's <head> (templates)",
    "board.header": "board page, under the board's description (templates)",
    "board.filters": "board page, above the thread list (templates)",
    "settings.sections": "the member's settings page, after the badge section (templates)",
    "review_queue.sections": "the moderators' review queue, after the flagged posts (templates)",
    "post.author": "each post, in the author column (macro(post, features, viewer))",
    "post.header": "each post, in its header after the time (macro(post, features, viewer))",
    "post.after_body": "each post, under its body: attributions (macro(post, features, viewer))",
    "post.actions": "each post, in its footer of actions (macro(post, features, viewer); render functions)",
    "thread_row.marks": "each thread list row, the tags before the title (macro(thread))",
    "thread_row.after_title": "each thread list row, the tags after the title (macro(thread))",
}
PAGES = ("thread", "board")


@dataclass(frozen=True)
class Filler:
    order: int
    template: str | None
    macro: str | None
    when: Callable[..., bool] | None  # the macro's arguments, or the page's context; False skips it
    render: Callable[..., Markup] | None = None  # in place of a macro: a function of the same arguments


@dataclass
class Extensions:
    """What the features registered on one app."""

    slots: dict[str, list[Filler]] = field(default_factory=dict)
    loaders: dict[str, list[tuple[str, Callable[..., Any]]]] = field(default_factory=dict)
    # (macro, when) per slot, resolved once per process
    macros: dict[str, list[tuple[Any, Callable[..., bool] | None]]] = field(default_factory=dict)
    # the same for a tuple of slots asked for together (render_slots: four for each post)
    macro_rows: dict[tuple[str, ...], list[list[tuple[Any, Callable[..., bool] | None]]]] = field(
        default_factory=dict
    )


def _extensions(app: Flask) -> Extensions:
    extensions = app.extensions.get("forum.pages")
    if extensions is None:  # not setdefault: that would build an Extensions on every call
        extensions = app.extensions["forum.pages"] = Extensions()
    return extensions


def fill_slot(
    app: Flask,
    slot: str,
    template: str | None = None,
    *,
    macro: str | None = None,
    render: Callable[..., Markup] | None = None,
    order: int = 50,
    when: Callable[..., bool] | None = None,
) -> None:
    """Add `template` (or its `macro`, or a `render` function) to `slot`; fillers render by
    `order`, then registration.

    `render` fills a slot inside a loop like a macro does, called with the same arguments and
    returning Markup (escape what it writes): for the post footer, where a macro per feature
    and post was most of a member's thread page.

    `when`: a Python check, so that a filler which would render nothing for this post, page
    or reader is left out. Macro slots call it with the macro's arguments (a macro call costs
    several microseconds; a thread page has ten fillers for each of its twenty posts); page
    slots with the page's template context, `page["thread"]`, `page["current_user"]` (an
    include copies that whole context: a dozen cost a visitor's thread page a tenth of its CPU).
    """
    if slot not in SLOTS:
        raise ValueError(f"no page slot {slot!r}; the slots are: {', '.join(SLOTS)}")
    in_a_loop = "macro(" in SLOTS[slot]
    if (template is None) == (render is None) or (render is not None and not in_a_loop):
        raise ValueError(f"fill {slot!r} with a template, or with a render function if it is inside a loop")
    fillers = _extensions(app).slots.setdefault(slot, [])
    fillers.append(Filler(order, template, macro, when, render))
    fillers.sort(key=lambda filler: filler.order)


def add_loader(app: Flask, page: str, name: str, loader: Callable[..., Any]) -> None:
    """Run `loader(**page objects)` before `page` renders; templates see `features.<name>`."""
    if page not in PAGES:
        raise ValueError(f"no page {page!r} takes loaders; the pages are: {', '.join(PAGES)}")
    _extensions(app).loaders.setdefault(page, []).append((name, loader))


def load(page: str, **objects: Any) -> dict[str, Any]:
    """Every loader of `page`, by name: what the page's slots need (views call this)."""
    return {name: loader(**objects) for name, loader in _extensions(current_app).loaders.get(page, [])}


def _slot_templates(app: Flask, page: Any, slot: str) -> list[str]:
    fillers = _extensions(app).slots.get(slot, [])
    return [
        filler.template
        for filler in fillers
        if filler.template and (filler.when is None or filler.when(page))
    ]


def _macro_fillers(app: Flask, slot: str) -> list[tuple[Any, Callable[..., bool] | None]]:
    """(macro, when) for each filler of `slot`, imported once like `{% import %}`."""
    extensions = _extensions(app)
    macros = extensions.macros.get(slot)
    if macros is None or app.jinja_env.auto_reload:
        macros = [
            (
                filler.render
                or getattr(app.jinja_env.get_template(filler.template or "").module, filler.macro or ""),
                filler.when,
            )
            for filler in extensions.slots.get(slot, [])
        ]
        extensions.macros[slot] = macros
    return macros


def for_members(post: Any, features: Any, viewer: Any) -> bool:
    """`when` of post fillers that only members see (their own tools, quote, bookmark, flag)."""
    return bool(viewer.is_member)


def for_members_page(page: Any) -> bool:
    """`when` of page fillers that only members see (watch menus, mark read, wiki promotion)."""
    return bool(page["current_user"].is_authenticated)


def _render_slot(app: Flask, slot: str, args: tuple[Any, ...]) -> Markup:
    parts = [fill(*args) for fill, when in _macro_fillers(app, slot) if when is None or when(*args)]
    return Markup("".join(parts)) if parts else _NOTHING


def _render_slots(app: Flask, slots: tuple[str, ...], args: tuple[Any, ...]) -> list[Markup]:
    """_render_slot for each of `slots`, the fillers looked up once per process: the post partial
    asks for four slots for each of twenty posts, most of them empty for a visitor."""
    extensions = _extensions(app)
    rows = extensions.macro_rows.get(slots)
    if rows is None or app.jinja_env.auto_reload:
        rows = extensions.macro_rows[slots] = [_macro_fillers(app, slot) for slot in slots]
    rendered = []
    for fillers in rows:
        text = "".join([fill(*args) for fill, when in fillers if when is None or when(*args)])
        rendered.append(Markup(text) if text else _NOTHING)
    return rendered


_NOTHING = Markup("")


def init_app(app: Flask) -> None:
    """The Jinja globals the pages' templates call; the macro slots' helpers are bound to `app`,
    so that the eighty slots of a thread page (two per row of a board page) do not each look it
    up through current_app."""
    _extensions(app)
    # slot_templates(slot): the templates that fill `slot`, in order, without those whose
    # `when(page)` says no ({% include %} each); slot_macros(slot): the macros that fill it;
    # render_slot(slot, *args): each filler of a macro slot called with `args`, skipping those
    # whose `when` says no; render_slots(slots, *args): that for several slots in one call (the
    # post partial fills four for each post; a call from a template costs a few microseconds).
    app.jinja_env.globals.update(
        slot_templates=pass_context(lambda page, slot: _slot_templates(app, page, slot)),
        slot_macros=lambda slot: [macro for macro, _when in _macro_fillers(app, slot)],
        render_slot=lambda slot, *args: _render_slot(app, slot, args),
        render_slots=lambda slots, *args: _render_slots(app, slots, args),
    )
