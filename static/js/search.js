// Similar threads while a title is typed (progressive enhancement: the preview page lists
// them without JavaScript). Debounced, and at most one request in flight: a newer title
// waits for the running request, then only the latest one is sent. An answer is shown only
// if its title is still the one wanted, so a slow answer never refills a box just cleared.
(function () {
  "use strict";
  var box = document.getElementById("similar-threads");
  var title = document.getElementById("title");
  if (!box || !title || !window.fetch) {
    return;
  }
  var url = box.getAttribute("data-similar-url");
  var list = box.querySelector("ul");
  var timer = null;
  var inFlight = false;
  var queued = null;
  var lastSent = null;
  var wanted = null;  // the title whose answer should be shown; null while it is too short

  function render(threads) {
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    threads.forEach(function (thread) {
      var item = document.createElement("li");
      if (thread.solved) {
        var tag = document.createElement("span");
        tag.className = "tag tag-solved";
        tag.textContent = "Solved";
        item.appendChild(tag);
        item.appendChild(document.createTextNode(" "));
      }
      var link = document.createElement("a");
      link.href = thread.url;
      link.textContent = thread.title;  // text, never HTML
      item.appendChild(link);
      var meta = document.createElement("span");
      meta.className = "byline";
      meta.textContent = " in " + thread.board + " · " + thread.replies + (thread.replies === 1 ? " reply" : " replies");
      item.appendChild(meta);
      if (thread.answer) {  // the accepted answer's first lines: the asker may stop here
        var answer = document.createElement("p");
        answer.className = "similar-answer";
        var label = document.createElement("span");
        label.className = "visually-hidden";
        label.textContent = "Accepted answer: ";
        answer.appendChild(label);
        answer.appendChild(document.createTextNode(thread.answer));
        item.appendChild(answer);
      }
      list.appendChild(item);
    });
    box.hidden = threads.length === 0;
  }

  function send(text) {
    if (inFlight) {
      queued = text;
      return;
    }
    if (text === lastSent) {
      return;
    }
    inFlight = true;
    lastSent = text;
    fetch(url + "?title=" + encodeURIComponent(text), { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { threads: [] }; })
      .then(function (data) {
        if (text === wanted) {
          render(data.threads || []);
        }
      })
      .catch(function () { /* keep what is shown; the preview still lists them */ })
      .then(function () {
        inFlight = false;
        if (queued !== null) {
          var next = queued;
          queued = null;
          send(next);
        }
      });
  }

  title.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var text = title.value.trim();
      if (text.length < 3) {
        wanted = null;
        queued = null;
        lastSent = null;
        render([]);
        return;
      }
      wanted = text;
      send(text);
    }, 300);
  });
})();
