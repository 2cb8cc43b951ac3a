// Quote the selected text of a post, and keep the reply box's text as a server-side draft.
// Without this file: "Quote" opens the reply box with the whole post quoted, and "Save draft" posts the form.
(function () {
  "use strict";

  var box = document.querySelector(".reply-box textarea");
  if (!box) { return; }
  var status = document.querySelector(".reply-box .draft-status");
  var form = box.form;
  var token = form.querySelector("input[name=csrf_token]");

  function quoteOf(link, text) {
    var who = link.getAttribute("data-mention") === "true" ? "@" + link.getAttribute("data-author") : link.getAttribute("data-author");
    var lines = text.trim().split(/\r?\n/).map(function (line) { return line ? "> " + line : ">"; });
    return "> " + who + " [wrote](/p/" + link.getAttribute("data-post") + "):\n" + lines.join("\n") + "\n\n";
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.quote-link") : null;
    if (!link) { return; }
    var selection = window.getSelection ? window.getSelection() : null;
    var text = selection ? selection.toString() : "";
    var post = document.getElementById("post-" + link.getAttribute("data-post"));
    var body = post ? post.querySelector(".post-body") : null;
    if (!text.trim() || !body || !selection.rangeCount || !body.contains(selection.getRangeAt(0).commonAncestorContainer)) {
      return; // no selection inside this post: the link quotes the whole post (server side)
    }
    event.preventDefault();
    var before = box.value && !/\n\n$/.test(box.value) ? box.value.replace(/\s*$/, "") + "\n\n" : box.value;
    box.value = before + quoteOf(link, text);
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
    box.scrollIntoView({ block: "center" });
    scheduleSave();
  });

  var timer = null;
  var saved = box.value;
  function save() {
    timer = null;
    if (box.value === saved || !box.getAttribute("data-draft-url")) { return; }
    var data = new FormData();
    data.append("body", box.value);
    data.append("csrf_token", token ? token.value : "");
    var text = box.value;
    fetch(box.getAttribute("data-draft-url"), {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": token ? token.value : "" }
    }).then(function (response) {
      if (response.ok) { saved = text; if (status) { status.textContent = text.trim() ? "Draft saved" : ""; } }
      else if (status) { status.textContent = "The draft could not be saved."; }
    }).catch(function () { if (status) { status.textContent = "The draft could not be saved."; } });
  }
  function scheduleSave() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(save, 2000);
  }
  box.addEventListener("input", scheduleSave);
})();

// A thread opened without an address in it starts at the "new since your last visit" divider.
(function () {
  "use strict";
  var divider = document.getElementById("unread");
  if (divider && !window.location.hash) { divider.scrollIntoView({ block: "start" }); }
})();
