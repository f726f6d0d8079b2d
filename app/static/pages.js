// Small behaviours shared by every page (loaded on each one; no inline script anywhere):
// - a form marked data-busy="Publishing…" disables its button while its request runs, so a slow
//   publish cannot be sent twice;
// - a link marked data-download fetches its file in the background, the links of its group
//   disabled meanwhile, and says in words when the file could not be made.
(function () {
  "use strict";

  // What the pages that call the JSON API share (editor.js, facilitate.js; loaded after this file):
  // a fetch that sends the CSRF token and never throws (a network failure is status 0), and an
  // element made with its text (data from the server only ever goes into textContent).
  var csrf = document.querySelector('meta[name="csrf-token"]');

  function api(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRFToken": csrf ? csrf.getAttribute("content") : "" },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        return { status: response.status, ok: response.ok, data: data };
      });
    }, function () {
      return { status: 0, ok: false, data: null };
    });
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  window.Hindsight = { api: api, el: el };

  document.querySelectorAll("form[data-busy]").forEach(function (form) {
    var button = form.querySelector("button[type=submit]");
    if (!button) return;
    var label = button.textContent;
    form.addEventListener("submit", function (event) {
      if (button.disabled) { event.preventDefault(); return; }
      // Disabled after this turn: a button disabled during its own submit would not be sent.
      setTimeout(function () {
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
        button.textContent = form.dataset.busy;
      }, 0);
    });
    // Back from the next page (the browser's page cache): the form is usable again.
    window.addEventListener("pageshow", function () {
      button.disabled = false;
      button.removeAttribute("aria-busy");
      button.textContent = label;
    });
  });

  function filenameOf(response, fallback) {
    var header = response.headers.get("Content-Disposition") || "";
    var match = /filename="([^"]+)"/.exec(header);
    return match ? match[1] : fallback;
  }

  document.querySelectorAll("[data-download-group]").forEach(function (group) {
    var links = group.querySelectorAll("a[data-download]");
    var status = group.querySelector("[data-download-status]");
    var running = false;

    function busy(on) {
      running = on;
      links.forEach(function (link) {
        if (on) link.setAttribute("aria-disabled", "true"); else link.removeAttribute("aria-disabled");
      });
    }

    function say(text, bad) {
      if (!status) return;
      status.textContent = text;
      status.classList.toggle("error", !!bad);
      status.classList.toggle("muted", !bad);
    }

    links.forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (!window.fetch || !window.URL || !URL.createObjectURL) return;  // the plain link still works
        event.preventDefault();
        if (running) return;
        busy(true);
        say("Preparing the " + link.textContent.trim() + " file…");
        fetch(link.href, { credentials: "same-origin" }).then(function (response) {
          if (!response.ok) {
            return response.json().catch(function () { return null; }).then(function (data) {
              var message = data && data.error && data.error.message;
              throw new Error(message || "The file could not be made (the server answered " + response.status + ").");
            });
          }
          return response.blob().then(function (blob) {
            var url = URL.createObjectURL(blob);
            var save = document.createElement("a");
            save.href = url;
            save.download = filenameOf(response, "retrospective");
            document.body.appendChild(save);
            save.click();
            save.remove();
            setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
            say("Downloaded " + save.download + ".");
          });
        }, function () {
          throw new Error("Hindsight did not answer: check the connection and try again.");
        }).catch(function (error) {
          say(error.message, true);
        }).then(function () { busy(false); });
      });
    });
  });
})();
