// The facilitation page: captures action items through the JSON API, without reloading (the
// document sections are editor.js's). Data from the server is only ever put in textContent.
(function () {
  "use strict";

  var api = window.Hindsight.api, el = window.Hindsight.el;  // pages.js

  function errorOf(result) {
    var error = (result.data && result.data.error) || {};
    var fallback = result.status === 0 ? "Hindsight did not answer: check the connection and try again."
      : "The request failed (" + result.status + ").";
    return { code: error.code, message: error.message || fallback, fields: error.fields || {}, current: error.current };
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
  function moment(iso) { return words(new Date(iso), true); }
  function day(isoDate) { return words(new Date(isoDate + "T00:00:00Z"), false); }

  // People by name: the owners offered on this page and whoever is signed in; else their email.
  var names = {};
  document.querySelectorAll("#item-owner option").forEach(function (option) {
    if (option.value) names[option.value.toLowerCase()] = option.textContent;
  });
  var me = document.querySelector("header .account .person");
  if (me) names[me.getAttribute("title").toLowerCase()] = me.textContent;
  function nameOf(email) { return (email && names[email.toLowerCase()]) || email; }

  // -- agenda: a step opened when its link in the meeting nav is followed -------------------

  function openStep(id) {
    var target = id && document.getElementById(id);
    if (target && target.tagName === "DETAILS") target.open = true;
  }
  document.querySelectorAll(".meeting-nav a").forEach(function (link) {
    link.addEventListener("click", function () { openStep(link.getAttribute("href").slice(1)); });
  });
  openStep(window.location.hash.slice(1));

  // -- timeline review: phases, highlights, a missing event added in place ------------------

  function withId(template, id) { return template.replace(/\/0(\/|$)/, "/" + id + "$1"); }

  // The organisation's wall-clock reading of an instant, as milliseconds of a UTC date.
  function wallOf(ms) {
    var parts = {};
    new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit"
    }).formatToParts(new Date(ms)).forEach(function (part) { parts[part.type] = part.value; });
    return Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day),
      Number(parts.hour), Number(parts.minute), Number(parts.second));
  }
  // A day and time typed in the organisation's zone as an instant; null for a time the clocks skip.
  function zonedInstant(dateText, timeText) {
    var d = dateText.split("-").map(Number), t = timeText.split(":").map(Number);
    var wall = Date.UTC(d[0], d[1] - 1, d[2], t[0], t[1]);
    var guess = wall - (wallOf(wall) - wall);
    guess = wall - (wallOf(guess) - guess);
    return wallOf(guess) === wall ? new Date(guess) : null;
  }
  function localDate(date) {
    return new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", timeZone: zone }).format(date);
  }
  function localDay(date) {
    var options = { weekday: "short", day: "numeric", month: "short", timeZone: zone };
    if (Number(localDate(date).slice(0, 4)) !== thisYear) options.year = "numeric";
    return new Intl.DateTimeFormat("en-GB", options).format(date).replace(/,/g, "");
  }
  function localTime(date) {
    return new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone }).format(date);
  }
  function eventsWord(count) { return count + (count === 1 ? " event" : " events"); }

  var phasesBox = document.getElementById("timeline-phases");
  var timelineMessages = document.getElementById("timeline-messages");

  function sayOnTimeline(text, kind) {
    timelineMessages.replaceChildren(el("div", { "class": kind }, text));
  }

  // Highlight toggles are made by this script (they do nothing without it), for the rows of the
  // groups that are open: a long incident has thousands of rows, most in closed groups.
  function addToggle(row) {
    var cell = row.querySelector("td.mark");
    if (!cell || cell.querySelector("button.highlight")) return;
    var on = row.classList.contains("highlighted");
    cell.replaceChildren();
    var button = el("button", { type: "button", "class": "highlight", "aria-pressed": on ? "true" : "false" }, "Highlight");
    button.appendChild(el("span", { "class": "visually-hidden" }, " the event at " + row.querySelector(".time").textContent));
    cell.appendChild(button);
  }

  function addToggles(group) {
    if (group.open) group.querySelectorAll("tr.event").forEach(addToggle);
  }

  function toggleHighlight(row, button) {
    var on = button.getAttribute("aria-pressed") !== "true";
    button.disabled = true;
    api(on ? "PUT" : "DELETE", withId(phasesBox.dataset.highlightUrl, row.dataset.id)).then(function (result) {
      button.disabled = false;
      if (result.ok && result.data) {
        button.setAttribute("aria-pressed", result.data.highlighted ? "true" : "false");
        row.classList.toggle("highlighted", result.data.highlighted);
        timelineMessages.replaceChildren();
      } else if (result.status === 422) {
        sayOnTimeline("The retro is completed, so its highlights no longer change: reopen it first.", "error");
      } else {
        sayOnTimeline("The highlight was not saved: check the connection and try again.", "error");
      }
    });
  }

  function setupHighlights() {
    phasesBox.querySelectorAll("details.phase").forEach(function (group) {
      addToggles(group);
      group.addEventListener("toggle", function () { addToggles(group); });
    });
    phasesBox.addEventListener("click", function (event) {
      var button = event.target.closest("button.highlight");
      if (button && !button.disabled) toggleHighlight(button.closest("tr.event"), button);
    });
  }

  function countEvents() {
    var total = 0;
    phasesBox.querySelectorAll("details.phase").forEach(function (group) {
      var count = group.querySelectorAll("tr.event").length;
      total += count;
      group.querySelector(".count").textContent = "(" + eventsWord(count) + ")";
      group.querySelector("tr.none").hidden = count > 0;
    });
    document.getElementById("event-count").textContent = "(" + eventsWord(total) + ")";
    var none = document.getElementById("no-events");
    if (none && total) none.remove();
  }

  // The group an instant belongs to: the last phase starting at or before it, or its day.
  function groupFor(at) {
    var groups = Array.prototype.slice.call(phasesBox.querySelectorAll("details.phase"));
    if (phasesBox.dataset.mode === "phase") {
      var home = groups[0];
      groups.forEach(function (group) {
        if (!group.dataset.start || at >= new Date(group.dataset.start)) home = group;
      });
      return home;
    }
    var key = localDate(at);
    var found = groups.filter(function (group) { return group.dataset.day === key; })[0];
    if (found) return found;
    var group = document.getElementById("day-group").content.firstElementChild.cloneNode(true);
    group.dataset.day = key;
    group.querySelector(".phase-title").textContent = localDay(at);
    var later = groups.filter(function (other) { return other.dataset.day > key; })[0];
    phasesBox.insertBefore(group, later || null);
    return group;
  }

  function placeEvent(event) {
    var at = new Date(event.occurred_at);
    var group = groupFor(at);
    var row = document.getElementById("event-row").content.firstElementChild.cloneNode(true);
    row.dataset.id = String(event.id);
    row.dataset.at = event.occurred_at;
    row.querySelector(".day").textContent = localDay(at);
    row.querySelector(".time").textContent = localTime(at);
    row.querySelector(".at").textContent = localTime(at);
    row.querySelector(".kind").textContent = event.kind;
    row.querySelector(".text").textContent = event.text;
    row.querySelector(".who").textContent = event.author || "";
    var tbody = group.querySelector("tbody");
    var later = Array.prototype.slice.call(tbody.querySelectorAll("tr.event")).filter(function (other) {
      return new Date(other.dataset.at) > at;
    })[0];
    tbody.insertBefore(row, later || tbody.querySelector("tr.none"));
    group.open = true;
    addToggle(row);
    countEvents();
    return row;
  }

  function setupEventForm(form) {
    var messages = document.getElementById("event-messages");
    // The API's field names, as this form names them, and what to say when it refuses one.
    var slots = { occurred_at: "time", text: "text", author: "author", kind: "kind" };
    var refused = {
      occurred_at: "This day and time cannot be used: check the year.",
      text: "This text cannot be saved: keep it shorter.",
      author: "Keep the name under 320 characters.",
      kind: "Choose a kind from the list."
    };

    function mark(name, text) {
      var slot = form.querySelector('[data-error-for="' + name + '"]');
      if (slot) slot.textContent = text;
      var field = form.querySelector('[data-field="' + name + '"]');
      if (field) field.classList.add("invalid");
    }
    function clear() {
      form.querySelectorAll(".field-error").forEach(function (node) { node.textContent = ""; });
      form.querySelectorAll(".field.invalid").forEach(function (node) { node.classList.remove("invalid"); });
      messages.replaceChildren();
    }

    form.addEventListener("submit", function (submitted) {
      submitted.preventDefault();
      clear();
      var date = form.elements.date.value, time = form.elements.time.value, text = form.elements.text.value.trim();
      var problems = 0;
      if (!date) { mark("date", "Give the day it happened."); problems++; }
      if (!time) { mark("time", "Give the time it happened."); problems++; }
      if (!text) { mark("text", "Say what happened."); problems++; }
      var at = problems ? null : zonedInstant(date, time);
      if (!problems && !at) { mark("time", "The clocks skip this time in " + zone + ": give another."); problems++; }
      if (problems) {
        messages.replaceChildren(el("div", { "class": "error" }, "The event was not added: see the marked fields."));
        return;
      }
      var body = { occurred_at: at.toISOString(), text: text, kind: form.elements.kind.value };
      var author = form.elements.author.value.trim();
      if (author) body.author = author;
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      api("POST", form.dataset.url, body).then(function (result) {
        button.disabled = false;
        if (!result.ok || !result.data || !result.data.items) {
          var fields = Object.keys(errorOf(result).fields);
          fields.forEach(function (name) { mark(slots[name.split(".")[0]] || "text", refused[name.split(".")[0]] || "Check this field."); });
          var lead = fields.length ? "The event was not added: see the marked fields."
            : result.status === 0 ? "The event was not added: Hindsight did not answer. Check the connection and try again."
            : "The event was not added. Reload the page and try again.";
          messages.replaceChildren(el("div", { "class": "error" }, lead));
          return;
        }
        var event = result.data.items[0];
        placeEvent(event);
        messages.replaceChildren(el("div", { "class": "flash" }, "Added the event at " + moment(event.occurred_at) + "."));
        form.elements.text.value = "";
        form.elements.author.value = "";
        form.elements.time.value = "";
        form.elements.time.focus();
      });
    });
    form.querySelector("button[type=submit]").disabled = false;
  }

  if (phasesBox) {
    if (phasesBox.hasAttribute("data-editable")) setupHighlights();
    var eventForm = document.getElementById("new-event");
    if (eventForm) setupEventForm(eventForm);
  }

  // -- action items -----------------------------------------------------------------------

  var card = document.getElementById("action-items-card");
  if (!card) return;
  var form = document.getElementById("new-item");
  var messages = document.getElementById("item-messages");
  var tbody = document.querySelector("#items tbody");
  var rowTemplate = document.getElementById("item-row");
  var maxWeeks = card.dataset.maxWeeks;
  var readonly = card.dataset.readonly === "true";  // a completed retro: no capture, no splits
  var syncWords = JSON.parse(card.dataset.syncWords || "{}");
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
    if (item.oversized) found.push("Due more than " + maxWeeks + " weeks away: split it into smaller items.");
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

  // The Jira cell: the issue key as a link to the issue, the sync state in words, a way on when it failed.
  function renderSync(cell, item) {
    cell.replaceChildren();
    if (item.jira_key) {
      var key = card.dataset.jiraUrl
        ? el("a", { "class": "jira-key", href: card.dataset.jiraUrl + "/browse/" + encodeURIComponent(item.jira_key) }, item.jira_key)
        : el("span", { "class": "jira-key" }, item.jira_key);
      cell.appendChild(key);
      cell.appendChild(document.createTextNode(" "));
    }
    cell.appendChild(el("span", { "class": "sync-state " + item.sync_status }, syncWords[item.sync_status] || item.sync_status));
    if (item.sync_status === "failed") {
      cell.appendChild(document.createTextNode(" "));
      cell.appendChild(el("a", { "class": "retry", href: urlFor(card.dataset.pageUrl, item.id) }, "Retry"));
    }
  }

  function rowOf(id) { return tbody.querySelector('tr[data-id="' + Number(id) + '"]'); }

  function addRow(item) {
    var existing = rowOf(item.id);
    if (existing) { refreshRow(existing, item); return existing; }  // the poll saw it first
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
    renderSync(row.querySelector("td.sync"), item);
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
    if (!readonly && row.dataset.oversized === "true" && (previous === "open" || previous === "in_progress")) offerSplit(row);
  }

  // What the poll learnt of an item: its status (unless someone is changing it here) and its Jira state.
  function refreshRow(row, item) {
    var select = row.querySelector("select.item-status");
    if (select && !select.disabled && document.activeElement !== select && select.value !== item.status) {
      select.value = item.status;
    }
    renderSync(row.querySelector("td.sync"), item);
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
        var still = [];
        result.data.items.forEach(function (item) {
          addRow(item);
          if (item.oversized) still.push("“" + item.title + "”");
          warnings = warnings.concat(warningsFor(item).map(function (w) { return "“" + item.title + "”: " + w; }));
        });
        if (still.length) {
          // Still too big: not a success, whatever the API answered.
          showMessages(["Split into " + result.data.items.length + " items, but " + still.join(", ") +
            (still.length === 1 ? " is" : " are") + " still due more than " + maxWeeks + " weeks away: split " +
            (still.length === 1 ? "it" : "them") + " again."], "warning");
          warnings.filter(function (w) { return w.indexOf("weeks away") === -1; }).forEach(function (text) {
            messages.appendChild(el("div", { "class": "warning" }, text));
          });
        } else {
          showOutcome("Split into " + result.data.items.length + " items.", warnings);
        }
      });
    });
    return box;
  }

  function offerSplitNow(row) {
    var now = el("button", { type: "button", "class": "secondary split-now" }, "Split it now");
    now.addEventListener("click", function () {
      var offer = row.querySelector(".split-offer");
      if (offer && !offer.hidden) offer.click();
      var first = row.querySelector("form.split input");
      if (first) first.focus();
      now.remove();
    });
    messages.appendChild(now);
  }

  if (form) form.addEventListener("submit", function (event) {
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
      var row = addRow(item);
      showOutcome("Added “" + item.title + "” for " + nameOf(item.owner) + ".", warningsFor(item));
      if (item.oversized) offerSplitNow(row);
      // Every field back to its start (owner "Choose an owner", priority medium): the next item
      // must not silently get this one's owner.
      form.reset();
      form.elements.title.focus();
    });
  });

  tbody.querySelectorAll("tr[data-id]").forEach(setupRow);
  if (form) form.querySelector("button[type=submit]").disabled = false;

  // -- live sync state: the items are read again every few seconds while the page is in view --

  var polling = false;
  function poll() {
    if (polling || document.visibilityState !== "visible") return;
    polling = true;
    api("GET", card.dataset.listUrl).then(function (result) {
      polling = false;
      // A failed read changes nothing on the page: the next turn tries again.
      if (!result.ok || !result.data || !Array.isArray(result.data.items)) return;
      result.data.items.forEach(function (item) {
        var row = rowOf(item.id);
        if (row) {
          refreshRow(row, item);
        } else if (item.retrospective_id !== undefined) {
          addRow(item);  // captured by someone else in the meeting
        }
      });
    });
  }
  var every = Number(card.dataset.pollSeconds) || 10;
  window.setInterval(poll, every * 1000);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") poll();
  });
})();
