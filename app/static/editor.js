// The section editor (templates/pages/_editor.html) on the document and facilitation pages:
// Write / Preview tabs, saving with version checks (a stale save shows their text beside yours),
// a warning before leaving with unsaved text, and "collapse all / expand all".
// The preview is rendered by the server with the HTML export's renderer (raw HTML escaped, only
// safe links), so what people preview is what the exports print; no Markdown library runs here.
// Everything else from the server is only ever put in textContent.
(function () {
  "use strict";

  var api = window.Hindsight.api, el = window.Hindsight.el;  // pages.js

  // The API's messages name its fields; people get what happened and what to do.
  var sayings = {
    retro_completed: "Not saved: this retro is complete; reopen it to edit.",
    csrf_failed: "Not saved: the page has expired. Copy your text, reload the page and try again.",
    unauthorized: "Not saved: your session has ended. Copy your text, sign in again in another tab, then save.",
    not_found: "Not saved: this section is no longer here, or you may no longer see it.",
    validation_error: "Not saved: the text is too long for one section. Split it or shorten it.",
    payload_too_large: "Not saved: the text is too long for one section. Split it or shorten it."
  };
  function problem(result, doing) {
    if (result.status === 0) return doing + ": Hindsight did not answer. Check the connection and try again.";
    var code = result.data && result.data.error && result.data.error.code;
    if (code && sayings[code]) return doing === "Not saved" ? sayings[code] : doing + ".";
    return doing + ": something went wrong on our side (error " + result.status + "). Try again in a moment.";
  }

  // Times in the organisation's zone and in words, like the server's: "Fri 4 Dec, 15:52".
  var zoneHolder = document.querySelector("[data-zone]");
  var zone = zoneHolder ? zoneHolder.dataset.zone : "UTC";
  var thisYear = Number(new Intl.DateTimeFormat("en-GB", { year: "numeric", timeZone: zone }).format(new Date()));
  function moment(iso) {
    var date = new Date(iso);
    var options = { weekday: "short", day: "numeric", month: "short", timeZone: zone };
    if (Number(new Intl.DateTimeFormat("en-GB", { year: "numeric", timeZone: zone }).format(date)) !== thisYear) {
      options.year = "numeric";
    }
    var text = new Intl.DateTimeFormat("en-GB", options).format(date).replace(/,/g, "");
    var time = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone }).format(date);
    return text + ", " + time;
  }

  // People by name: everyone the page already names (the `person` filter's title is the email).
  var names = {};
  document.querySelectorAll(".person[title]").forEach(function (node) {
    names[node.getAttribute("title").toLowerCase()] = node.textContent;
  });
  function nameOf(email) { return (email && names[email.toLowerCase()]) || email; }

  // Tables in a box that scrolls sideways on a phone, as the server's `scrolling_tables` does.
  function boxTables(container) {
    container.querySelectorAll("table").forEach(function (table) {
      var box = el("div", { "class": "table-scroll", role: "region", tabindex: "0", "aria-label": "Table, scrolls sideways" });
      table.parentNode.insertBefore(box, table);
      box.appendChild(table);
    });
  }

  var dirty = 0;

  function setupEditor(editor) {
    var textarea = editor.querySelector("textarea[name=body]");
    var button = editor.querySelector("button.save");
    var status = editor.querySelector(".status");
    var meta = editor.querySelector(".meta");
    var conflict = editor.querySelector(".conflict");
    var tabs = Array.prototype.slice.call(editor.querySelectorAll('[role="tab"]'));
    var preview = editor.querySelector(".pane.preview");
    var saved = textarea.value;
    var previewed = textarea.value;  // the text the preview pane shows now
    var previewRun = 0;
    var isDirty = false;

    function say(text, bad) {
      status.textContent = text;
      status.classList.toggle("bad", !!bad);
    }

    function markDirty() {
      var now = textarea.value !== saved || !conflict.hidden;
      if (now !== isDirty) { dirty += now ? 1 : -1; isDirty = now; }
      editor.classList.toggle("dirty", now);
      if (now && !status.classList.contains("bad")) say("Not saved yet");
      if (!now) say("");
    }

    // -- Write / Preview ------------------------------------------------------------------

    function select(tab, focus) {
      tabs.forEach(function (other) {
        var chosen = other === tab;
        other.setAttribute("aria-selected", chosen ? "true" : "false");
        other.tabIndex = chosen ? 0 : -1;
        document.getElementById(other.getAttribute("aria-controls")).hidden = !chosen;
      });
      editor.dataset.mode = tab.dataset.tab;
      if (focus) tab.focus();
      if (tab.dataset.tab === "preview") renderPreview();
    }

    function emptyPreview() {
      var note = el("p", { "class": "muted" }, "Nothing written yet." + (textarea.placeholder ? " " + textarea.placeholder : ""));
      preview.replaceChildren(note);
    }

    function renderPreview() {
      var body = textarea.value;
      if (body === previewed) return;
      if (!body.trim()) { previewed = body; emptyPreview(); return; }
      var run = ++previewRun;
      preview.setAttribute("aria-busy", "true");
      api("POST", editor.dataset.previewUrl, { body: body }).then(function (result) {
        if (run !== previewRun) return;  // a later preview is on its way
        preview.removeAttribute("aria-busy");
        if (!result.ok) {
          preview.replaceChildren(el("p", { "class": "field-error" }, problem(result, "The preview could not be made")));
          return;
        }
        previewed = body;
        // Safe by construction: the export's renderer escaped every raw HTML tag the text held.
        preview.innerHTML = result.data.html;
        boxTables(preview);
      });
    }

    tabs.forEach(function (tab, index) {
      tab.addEventListener("click", function () { select(tab, false); });
      tab.addEventListener("keydown", function (event) {
        var next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 }[event.key];
        if (next === undefined) return;
        event.preventDefault();
        select(tabs[(next + tabs.length) % tabs.length], true);
      });
    });
    editor.querySelector(".tabs").hidden = false;

    // -- saving -----------------------------------------------------------------------------

    function describe(section) {
      meta.textContent = "version " + section.version + (section.updated_by ? ", saved by " + nameOf(section.updated_by) : "") +
        " · " + moment(section.updated_at);
    }

    function showConflict(current) {
      conflict.replaceChildren();
      editor.dataset.version = String(current.version);
      var who = nameOf(current.updated_by) || "Someone else";
      conflict.appendChild(el("strong", {}, who + " saved this section while you were editing it (it is at version " + current.version + " now)."));
      describe(current);
      conflict.appendChild(el("p", {}, "Your text is kept in the editor above. Their current text is below: " +
        "merge what you need, then save again."));
      var theirs = el("textarea", { readonly: "", "aria-label": "Their current text", "class": "theirs" });
      theirs.value = current.body;
      conflict.appendChild(theirs);
      var row = el("div", { "class": "actions" });
      var append = el("button", { type: "button", "class": "secondary" }, "Add their text below mine");
      var replace = el("button", { type: "button", "class": "secondary" }, "Use their text instead of mine");
      var dismiss = el("button", { type: "button", "class": "secondary" }, "Keep mine, drop theirs");
      append.addEventListener("click", function () {
        textarea.value = textarea.value.replace(/\s*$/, "") + "\n\n" + current.body;
        select(tabs[0], false);
        textarea.focus();
        closeConflict();
      });
      replace.addEventListener("click", function () {
        textarea.value = current.body;
        closeConflict();
        if (editor.dataset.mode === "preview") renderPreview();
      });
      dismiss.addEventListener("click", closeConflict);
      row.appendChild(append); row.appendChild(replace); row.appendChild(dismiss);
      conflict.appendChild(row);
      conflict.hidden = false;
      say("Not saved: someone else saved first.", true);
      markDirty();
    }

    function closeConflict() {
      conflict.hidden = true;
      conflict.replaceChildren();
      say("");
      markDirty();
      if (isDirty) say("Not saved yet: save to keep the merged text");
    }

    function save() {
      button.disabled = true;
      say("Saving…");
      var body = textarea.value;
      api("PUT", editor.dataset.url, { body: body, version: Number(editor.dataset.version) }).then(function (result) {
        button.disabled = false;
        if (result.ok) {
          saved = body;
          editor.dataset.version = String(result.data.version);
          describe(result.data);
          if (!conflict.hidden) { conflict.hidden = true; conflict.replaceChildren(); }
          markDirty();
          say("Saved, version " + result.data.version);
          return;
        }
        var current = result.status === 409 && result.data && result.data.error && result.data.error.current;
        if (current) {
          showConflict(current);
        } else {
          say(problem(result, "Not saved"), true);
        }
      });
    }

    textarea.addEventListener("input", markDirty);
    textarea.addEventListener("keydown", function (event) {
      if ((event.ctrlKey || event.metaKey) && event.key === "s") {
        event.preventDefault();
        if (!button.disabled) save();  // a save in flight: the second would race its own version
      }
    });
    button.addEventListener("click", save);
    button.disabled = false;
  }

  document.querySelectorAll(".editor[data-url]").forEach(setupEditor);
  window.addEventListener("beforeunload", function (event) {
    if (dirty > 0) { event.preventDefault(); event.returnValue = ""; }
  });

  // -- collapse all / expand all (the document page) ---------------------------------------

  document.querySelectorAll(".collapse-controls").forEach(function (controls) {
    var scope = controls.parentNode;
    function setAll(open) {
      scope.querySelectorAll("details.editor").forEach(function (details) { details.open = open; });
    }
    controls.querySelector("[data-collapse]").addEventListener("click", function () { setAll(false); });
    controls.querySelector("[data-expand]").addEventListener("click", function () { setAll(true); });
    controls.hidden = false;
  });
})();
