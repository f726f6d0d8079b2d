// The facilitation page: captures action items through the JSON API, without reloading (the
// document sections are editor.js's). Data from the server is only ever put in textContent.
(function () {
  "use strict";

  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");

  function api(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        return { status: response.status, ok: response.ok, data: data };
      });
    }, function () {
      return { status: 0, ok: false, data: { error: { message: "Hindsight did not answer: check the connection and try again." } } };
    });
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function errorOf(result) {
    var error = (result.data && result.data.error) || {};
    return { code: error.code, message: error.message || "The request failed (" + result.status + ").", fields: error.fields || {}, current: error.current };
  }

  // -- times and people in words ----------------------------------------------------------

  // Times in the organisation's zone and in words, like the server's: "Fri 4 Dec, 15:52".
  var zone = document.getElementById("retro-facts").dataset.zone;
  var thisYear = Number(new Intl.DateTimeFormat("en-GB", { year: "numeric", timeZone: zone }).format(new Date()));

  function words(date, withTime) {
    var options = { weekday: "short", day: "numeric", month: "short", timeZone: withTime ? zone : "UTC" };
    var year = Number(new Intl.DateTimeFormat("en-GB", { year: "numeric", timeZone: options.timeZone }).format(date));
    if (year !== thisYear) options.year = "numeric";
    var text = new Intl.DateTimeFormat("en-GB", options).format(date).replace(/,/g, "");
    if (!withTime) return text;
    var time = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone }).format(date);
    return text + ", " + time;
  }
  function day(isoDate) { return words(new Date(isoDate + "T00:00:00Z"), false); }

  // People by name: the owners offered on this page and whoever is signed in; else their email.
  var names = {};
  document.querySelectorAll("#item-owner option").forEach(function (option) {
    if (option.value) names[option.value.toLowerCase()] = option.textContent;
  });
  var me = document.querySelector("header .account .person");
  if (me) names[me.getAttribute("title").toLowerCase()] = me.textContent;
  function nameOf(email) { return (email && names[email.toLowerCase()]) || email; }

  // -- action items -----------------------------------------------------------------------

  var card = document.getElementById("action-items-card");
  if (!card) return;
  var form = document.getElementById("new-item");
  var messages = document.getElementById("item-messages");
  var tbody = document.querySelector("#items tbody");
  var rowTemplate = document.getElementById("item-row");
  var maxWeeks = card.dataset.maxWeeks;
  // The capture form's fields as the page names them, and the server's "is required" in words.
  var fieldLabels = { title: "Action", owner: "Owner", due_date: "Due date", priority: "Priority", description: "Description" };
  var required = { title: "Say what will be done.", owner: "Choose an owner.", due_date: "Give a due date." };
  function fieldMessage(name, message) {
    return message === "is required" && required[name] ? required[name] : message;
  }
  function capitalized(text) { return text.charAt(0).toUpperCase() + text.slice(1); }

  function urlFor(template, id) { return template.replace(/\/0(\/|$)/, "/" + id + "$1"); }

  function showMessages(texts, kind) {
    messages.replaceChildren();
    texts.forEach(function (text) { messages.appendChild(el("div", { "class": kind }, text)); });
  }

  // The API's warnings name its routes and ISO dates; the page says the same from the item itself.
  var todayIso = new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", timeZone: zone }).format(new Date());
  function warningsFor(item) {
    var found = [];
    if (item.due_date < todayIso) found.push("The due date, " + day(item.due_date) + ", is already past.");
    if (item.oversized) {
      found.push("Due more than " + maxWeeks + " weeks away: consider splitting it (the “Split into smaller items” link in its row).");
    }
    return found;
  }

  // A success in the success style, what still needs attention below it in the warning style.
  function showOutcome(success, warnings) {
    showMessages([success], "flash");
    warnings.forEach(function (text) { messages.appendChild(el("div", { "class": "warning" }, text)); });
  }

  function clearFieldErrors() {
    form.querySelectorAll(".field-error").forEach(function (node) { node.textContent = ""; });
    form.querySelectorAll(".field.invalid").forEach(function (node) { node.classList.remove("invalid"); });
  }

  function countItems() {
    var rows = tbody.querySelectorAll("tr[data-id]").length;
    document.getElementById("item-count").textContent = "(" + rows + ")";
    tbody.querySelector("tr.empty").hidden = rows > 0;
  }

  function addRow(item) {
    var row = rowTemplate.content.firstElementChild.cloneNode(true);
    row.dataset.id = String(item.id);
    row.dataset.owner = item.owner;
    row.dataset.title = item.title;
    row.dataset.priority = item.priority;
    row.dataset.oversized = item.oversized ? "true" : "false";
    var link = row.querySelector(".title a");
    link.textContent = item.title;
    link.setAttribute("href", urlFor(card.dataset.pageUrl, item.id));
    if (item.oversized) {
      row.querySelector(".title").appendChild(document.createTextNode(" "));
      row.querySelector(".title").appendChild(el("span", { "class": "badge SEV1" }, "oversized"));
    }
    row.querySelector(".owner").textContent = nameOf(item.owner);
    row.querySelector(".due").textContent = day(item.due_date);
    row.querySelector(".priority").textContent = capitalized(item.priority);
    var select = row.querySelector("select.item-status");
    select.value = item.status;
    select.setAttribute("aria-label", "Status of " + item.title);
    tbody.insertBefore(row, tbody.querySelector("tr.empty"));
    row.classList.add("fresh");
    setupRow(row);
    countItems();
    return row;
  }

  function setupRow(row) {
    var select = row.querySelector("select.item-status");
    var previous = select.value;
    select.addEventListener("change", function () {
      select.disabled = true;
      api("PATCH", urlFor(card.dataset.itemUrl, row.dataset.id), { status: select.value }).then(function (result) {
        select.disabled = false;
        if (result.ok) {
          previous = result.data.status;
          select.value = previous;
          showMessages(["“" + result.data.title + "” is now " + select.options[select.selectedIndex].textContent.toLowerCase() + "."], "flash");
        } else {
          select.value = previous;
          showMessages([errorOf(result).message], "error");
        }
      });
    });
    if (row.dataset.oversized === "true" && (previous === "open" || previous === "in_progress")) offerSplit(row);
  }

  function offerSplit(row) {
    var cell = row.querySelector(".title");
    if (cell.querySelector(".split-offer")) return;
    var offer = el("button", { type: "button", "class": "link split-offer" }, "Split into smaller items");
    cell.appendChild(el("br"));
    cell.appendChild(offer);
    offer.addEventListener("click", function () {
      offer.hidden = true;
      cell.appendChild(splitForm(row, offer));
    });
  }

  function splitForm(row, offer) {
    var box = el("form", { "class": "split", novalidate: "" });
    box.appendChild(el("div", {}, "Due more than " + maxWeeks + " weeks away: break it into pieces that each fit in " + maxWeeks + " weeks."));
    for (var n = 1; n <= 2; n++) {
      var part = el("div", { "class": "part" });
      var title = el("input", { type: "text", name: "title", "aria-label": "Part " + n + " title", maxlength: "300" });
      title.value = row.dataset.title + " (part " + n + ")";
      part.appendChild(title);
      part.appendChild(el("input", { type: "date", name: "due_date", "aria-label": "Part " + n + " due date" }));
      box.appendChild(part);
    }
    var close = el("label", { "class": "check" });
    var check = el("input", { type: "checkbox", name: "close_original" });
    check.checked = true;
    close.appendChild(check);
    close.appendChild(document.createTextNode(" Mark the original as won't do"));
    box.appendChild(close);
    var problems = el("div", { "class": "field-error", role: "alert" });
    box.appendChild(problems);
    var actions = el("div", { "class": "actions" });
    var submit = el("button", { type: "submit" }, "Split");
    var cancel = el("button", { type: "button", "class": "secondary" }, "Cancel");
    actions.appendChild(submit); actions.appendChild(cancel);
    box.appendChild(actions);
    cancel.addEventListener("click", function () { box.remove(); offer.hidden = false; });
    box.addEventListener("submit", function (event) {
      event.preventDefault();
      var parts = [];
      box.querySelectorAll(".part").forEach(function (part) {
        var title = part.querySelector("[name=title]").value.trim();
        var due = part.querySelector("[name=due_date]").value;
        if (!title && !due) return;
        var data = { title: title, owner: row.dataset.owner, priority: row.dataset.priority };
        if (due) data.due_date = due;
        parts.push(data);
      });
      if (!parts.length) { problems.textContent = "Give at least one part a title and a due date."; return; }
      submit.disabled = true;
      api("POST", urlFor(card.dataset.splitUrl, row.dataset.id), { items: parts, close_original: check.checked }).then(function (result) {
        submit.disabled = false;
        if (!result.ok) {
          var error = errorOf(result);
          var details = Object.keys(error.fields).map(function (name) {
            var match = /^items\.(\d+)\.(\w+)$/.exec(name);
            var label = match ? fieldLabels[match[2]] || match[2].replace("_", " ") : name;
            return match ? "Part " + (Number(match[1]) + 1) + ", " + label.toLowerCase() + ": " + fieldMessage(match[2], error.fields[name])
              : label + ": " + error.fields[name];
          });
          problems.textContent = details.length ? details.join("; ") : error.message;
          return;
        }
        var select = row.querySelector("select.item-status");
        select.value = result.data.original.status;
        box.remove();
        offer.remove();
        var warnings = [];
        result.data.items.forEach(function (item) {
          addRow(item);
          warnings = warnings.concat(warningsFor(item).map(function (w) { return "“" + item.title + "”: " + w; }));
        });
        showOutcome("Split into " + result.data.items.length + " items.", warnings);
      });
    });
    return box;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearFieldErrors();
    var data = {};
    ["title", "owner", "due_date", "priority"].forEach(function (name) {
      var value = form.elements[name].value.trim();
      if (value) data[name] = value;  // left out when empty, so the API names it as required
    });
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    api("POST", card.dataset.createUrl, data).then(function (result) {
      button.disabled = false;
      if (!result.ok) {
        var error = errorOf(result);
        var unplaced = [];
        Object.keys(error.fields).forEach(function (name) {
          var slot = form.querySelector('[data-error-for="' + name + '"]');
          if (slot) {
            slot.textContent = fieldMessage(name, error.fields[name]);
            form.querySelector('[data-field="' + name + '"]').classList.add("invalid");
          } else {
            unplaced.push((fieldLabels[name] || name) + ": " + fieldMessage(name, error.fields[name]));
          }
        });
        // The API's message names its fields; the page says what to do.
        var lead = Object.keys(error.fields).length ? "The action item was not added: see the marked fields." : error.message;
        showMessages([lead].concat(unplaced), "error");
        return;
      }
      var item = result.data;
      addRow(item);
      showOutcome("Added “" + item.title + "” for " + nameOf(item.owner) + ".", warningsFor(item));
      // Every field back to its start (owner "Choose an owner", priority medium): the next item
      // must not silently get this one's owner.
      form.reset();
      form.elements.title.focus();
    });
  });

  tbody.querySelectorAll("tr[data-id]").forEach(setupRow);
  form.querySelector("button[type=submit]").disabled = false;
})();
