"""Named signals that features send and others subscribe to (blinker, as Flask uses).

A service sends a signal inside the caller's transaction, after its own changes are
flushed; receivers (notifications, search, ...) add their rows to the same session, so
everything commits or rolls back together. Receivers must not commit.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# sender: the acting User. kwargs: post (Post), thread (Thread), is_new_thread (bool)
post_created = _signals.signal("post-created")
# sender: the acting User. kwargs: post (Post), previous_source (str)
post_edited = _signals.signal("post-edited")
# sender: the acting User. kwargs: post (Post)
post_deleted = _signals.signal("post-deleted")
# sender: the acting User. kwargs: thread (Thread), post (Post | None: None when unmarked)
solution_marked = _signals.signal("solution-marked")
# sender: the voting User. kwargs: post (Post), added (bool)
post_voted = _signals.signal("post-voted")
# sender: the editing User. kwargs: page (WikiPage), revision (WikiRevision)
wiki_page_edited = _signals.signal("wiki-page-edited")
# sender: the acting moderator. kwargs: entry (AuditEntry), affected_user (User | None)
moderation_action = _signals.signal("moderation-action")
# sender: None. kwargs: user (User), badge (EmployeeBadge), expires_at (datetime)
badge_expiring = _signals.signal("badge-expiring")
# sender: None. kwargs: user (User), notice (UserNotice): a private notice from the moderators
notice_sent = _signals.signal("notice-sent")
# sender: the acting User. kwargs: thread (Thread), old_label (str), new_label (str), note (str),
# voter_ids (list[int]): the members who voted for the idea
idea_status_changed = _signals.signal("idea-status-changed")
# sender: the acting moderator. kwargs: source (Thread), target (Thread), how ("merge" | "duplicate")
threads_combined = _signals.signal("threads-combined")
