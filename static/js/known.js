// "I'm affected too" updates in place; without this file the form posts and redirects back.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-affected") || !window.fetch) { return; }
    event.preventDefault();
    var button = form.querySelector("button");
    var data = new FormData(form);
    button.disabled = true;
    fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": data.get("csrf_token") || "" }
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) { throw new Error(body.error || "That could not be saved."); }
        return body;
      });
    }).then(function (body) {
      form.querySelector("input[name=affected]").value = body.affected ? "0" : "1";
      button.setAttribute("aria-pressed", body.affected ? "true" : "false");
      button.className = body.affected ? "button" : "button-secondary";
      button.textContent = body.affected ? "I'm affected too \u2713" : "I'm affected too";
      var hint = form.querySelector(".affected-hint");
      if (hint) {
        hint.textContent = body.affected ? "Press again to take it back." :
          "Counts you and tells you when it is acknowledged, worked around, fixed or solved.";
      }
      var count = document.querySelector("[data-affected-count]");
      if (count) {
        var strong = document.createElement("strong");
        strong.textContent = body.count.toLocaleString();
        count.replaceChildren(strong, document.createTextNode(body.count === 1 ? " member is affected" : " members are affected"));
      }
      var old = form.querySelector(".vote-error");
      if (old) { old.remove(); }
    }).catch(function (error) {
      var note = form.querySelector(".vote-error");
      if (!note) {
        note = document.createElement("span");
        note.className = "vote-error";
        note.setAttribute("role", "alert");
        form.appendChild(note);
      }
      note.textContent = error.message;
    }).then(function () {
      button.disabled = false;
    });
  });
})();
