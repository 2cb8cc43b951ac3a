// Files in the editor (issue #19): paste or drop images and files into the text, or choose them
// in the file field; each uploads at once, with its progress, and its Markdown goes in at the
// cursor. Without this script the file field still works: files are added when the form is sent.
(function () {
  "use strict";
  document.querySelectorAll(".upload-field[data-upload-url]").forEach(function (field) {
    var form = field.closest("form");
    var textarea = form && form.querySelector("textarea[name=body]");
    var input = field.querySelector("input[type=file]");
    var alt = field.querySelector("input[name=attachment_alt]");
    var status = field.querySelector(".upload-status");
    var token = form && form.querySelector("input[name=csrf_token]");
    if (!textarea || !input || !status || !token || !window.FormData || !window.XMLHttpRequest) return;
    var bar = status.querySelector("progress");
    var words = status.querySelector(".upload-status-text");
    var waiting = [];
    var busy = false;

    function say(message, isError) {
      status.hidden = false;
      words.textContent = message;
      status.classList.toggle("field-error", Boolean(isError));
    }

    // Where a file's Markdown goes: at the cursor, but never inside an image or link, such as
    // the description of the image just added (still selected, or being typed): after it.
    function insertionPoint(value, start, end) {
      var opening = value.lastIndexOf("[", start);
      if (opening > 0 && value.charAt(opening - 1) === "!") opening -= 1;
      var whole = opening === -1 ? null : /^!?\[[^\]\n]*\]\([^)\s]*\)/.exec(value.slice(opening));
      if (whole && opening < start && start < opening + whole[0].length) {
        return [opening + whole[0].length, opening + whole[0].length];
      }
      return [start, end];
    }

    function insert(answer) {
      var value = textarea.value;
      var point = insertionPoint(value, textarea.selectionStart, textarea.selectionEnd);
      var start = point[0], end = point[1];
      var before = value.slice(0, start), after = value.slice(end);
      var gap = before && !/\n\n$/.test(before) ? (/\n$/.test(before) ? "\n" : "\n\n") : "";
      var markdown = gap + answer.markdown + (after && !/^\n/.test(after) ? "\n\n" : "");
      textarea.value = before + markdown + after;
      textarea.focus();
      if (answer.is_image) {  // the description is selected: typing replaces it
        var altStart = before.length + gap.length + 2;
        textarea.setSelectionRange(altStart, altStart + answer.markdown.indexOf("](") - 2);
      } else {
        var caret = before.length + markdown.length;
        textarea.setSelectionRange(caret, caret);
      }
      textarea.dispatchEvent(new Event("input", { bubbles: true }));  // drafts notice the change
    }

    function next() {
      busy = false;
      if (waiting.length) send(waiting.shift());
    }

    function send(file) {
      busy = true;
      var data = new FormData();
      data.append("file", file, file.name || "pasted-image.png");
      data.append("alt", alt ? alt.value : "");
      data.append("csrf_token", token.value);
      var request = new XMLHttpRequest();
      request.open("POST", field.getAttribute("data-upload-url"));
      request.setRequestHeader("Accept", "application/json");
      request.setRequestHeader("X-CSRFToken", token.value);
      request.upload.onprogress = function (event) {
        if (event.lengthComputable) bar.value = Math.round((event.loaded * 100) / event.total);
      };
      request.onload = function () {
        var answer;
        try { answer = JSON.parse(request.responseText); } catch (error) { answer = {}; }
        if (request.status === 201) {
          bar.value = 100;
          insert(answer);
          say("Uploaded " + answer.name + "." + (answer.is_image
            ? " Its description for people who cannot see it is selected in the text: type to change it." : ""));
        } else {
          say(answer.error || "The upload failed (" + request.status + "); try again.", true);
        }
        next();
      };
      request.onerror = function () {
        say("The upload failed: check your connection and try again.", true);
        next();
      };
      bar.value = 0;
      say("Uploading " + (file.name || "the pasted image") + "…");
      request.send(data);
    }

    function add(files) {
      for (var index = 0; index < files.length; index++) waiting.push(files[index]);
      if (!busy && waiting.length) send(waiting.shift());
    }

    textarea.addEventListener("paste", function (event) {
      var files = event.clipboardData && event.clipboardData.files;
      if (files && files.length) {
        event.preventDefault();
        add(files);
      }
    });
    textarea.addEventListener("dragover", function (event) {
      if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") !== -1) {
        event.preventDefault();
        textarea.classList.add("is-drop-target");
      }
    });
    textarea.addEventListener("dragleave", function () { textarea.classList.remove("is-drop-target"); });
    textarea.addEventListener("drop", function (event) {
      textarea.classList.remove("is-drop-target");
      var files = event.dataTransfer && event.dataTransfer.files;
      if (files && files.length) {
        event.preventDefault();
        add(files);
      }
    });
    input.addEventListener("change", function () {
      add(Array.prototype.slice.call(input.files));
      input.value = "";  // uploaded now: the form does not send them again
    });
  });
})();
