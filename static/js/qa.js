// Helpful votes and idea votes update in place; without this file the forms post and redirect back.
(function () {
  "use strict";

  function send(form) {
    var data = new FormData(form);
    return fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": data.get("csrf_token") || "" }
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) { throw new Error(body.error || "The vote could not be saved."); }
        return body;
      });
    });
  }

  function showError(form, message) {
    var note = form.querySelector(".vote-error");
    if (!note) {
      note = document.createElement("span");
      note.className = "vote-error";
      note.setAttribute("role", "alert");
      form.appendChild(note);
    }
    note.textContent = message;
  }

  function updateHelpful(form, body) {
    var button = form.querySelector("button");
    form.querySelector("input[name=helpful]").value = body.helpful ? "0" : "1";
    button.setAttribute("aria-pressed", body.helpful ? "true" : "false");
    button.textContent = body.helpful ? "Helpful \u2713" : "Helpful";
    form.querySelector(".helpful-count").textContent = body.count.toLocaleString() + " found this helpful";
  }

  function updateIdea(form, body) {
    var button = form.querySelector("button");
    var box = form.closest(".idea-votes");
    form.querySelector("input[name=vote]").value = body.voted ? "0" : "1";
    button.setAttribute("aria-pressed", body.voted ? "true" : "false");
    button.textContent = body.voted ? "Voted \u2713" : "Vote";
    button.className = (body.voted ? "button" : "button-secondary") + " idea-vote-button";
    button.setAttribute("aria-label", (body.voted ? "Take back your vote for " : "Vote for ") + button.getAttribute("data-title"));
    if (box) {
      var count = box.querySelector(".idea-vote-count");
      var strong = document.createElement("strong");
      strong.textContent = body.count.toLocaleString();
      count.replaceChildren(strong, document.createTextNode(body.count === 1 ? " vote" : " votes"));
    }
    document.querySelectorAll("[data-votes-left]").forEach(function (node) {
      node.textContent = node.textContent.replace(/You have \d[\d,]* of/, "You have " + body.votes_left + " of");
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var kind = form.hasAttribute("data-helpful") ? "helpful" : form.hasAttribute("data-idea-vote") ? "idea" : null;
    if (!kind || !window.fetch) { return; }
    event.preventDefault();
    var button = form.querySelector("button");
    button.disabled = true;
    send(form).then(function (body) {
      if (kind === "helpful") { updateHelpful(form, body); } else { updateIdea(form, body); }
      var old = form.querySelector(".vote-error");
      if (old) { old.remove(); }
    }).catch(function (error) {
      showError(form, error.message);
    }).then(function () {
      button.disabled = false;
    });
  });
})();
