// The action-item board (the page works without this script; it only spares a reload):
// - on a phone, the filters start folded (their summary names those on); the view's address keeps
//   only the filters chosen;
// - ticked rows are counted in the bulk form, which then stays in sight;
// - a row's "Change" link (without this script: the board again with that row's forms drawn, ?edit=<id>)
//   opens its forms in place, built from the page's one <template id="row-edit"> and the link's data
//   (owner, due date, status, whether it may be snoozed); the first field then has the focus, and
//   "Change" has it again once the forms are closed (Escape, or its summary) or the change saved;
// - a row's "Change" form is sent to the JSON API (PATCH, with the X-CSRFToken header); the row
//   then shows the new owner, due date and status and says in words how it went. When the owner
//   typed is not a name the page knows, the form is posted as usual and the server explains.
(function () {
  "use strict";

  var filters = document.getElementById("filters");
  if (filters && window.matchMedia && window.matchMedia("(max-width: 700px)").matches) {
    filters.removeAttribute("open");  // its summary names the filters that are on
  }

  // The address a view is shared by keeps only what was chosen (?owner=Olivia&overdue=true), not every
  // empty field of the form.
  var filterForm = document.querySelector("form.board-filters");
  if (filterForm && window.URLSearchParams && window.FormData) {
    filterForm.addEventListener("submit", function (event) {
      var query = new URLSearchParams();
      new FormData(filterForm).forEach(function (value, name) {
        if (value !== "" && !(name === "sort" && value === "overdue")) query.append(name, value);
      });
      event.preventDefault();
      var text = query.toString();
      window.location.assign(filterForm.action + (text ? "?" + text : ""));
    });
  }

  // Ticked rows: the bulk form says how many, and (board.css) stays in sight while the list scrolls.
  var bulk = document.getElementById("bulk");
  var picked = document.getElementById("picked");
  function countPicked() {
    var count = document.querySelectorAll('input[form="bulk"][name="ids"]:checked').length;
    picked.textContent = count ? count + (count === 1 ? " item" : " items") + " selected" : "";
    bulk.classList.toggle("picking", count > 0);
  }
  if (bulk && picked) {
    document.querySelectorAll('input[form="bulk"][name="ids"]').forEach(function (box) {
      box.addEventListener("change", countPicked);
    });
    countPicked();
    window.addEventListener("pageshow", countPicked);  // boxes the browser ticked again on "back"
  }

  // A row's forms, opened in place of its "Change" link: the shared template given the row's id and values.
  var table = document.getElementById("action-items");
  var template = document.getElementById("row-edit");
  function withId(text, id) { return text.replace(/-0$/, "-" + id); }
  function openForms(link) {
    var id = link.closest("tr").dataset.item;
    var part = template.content.cloneNode(true);
    part.querySelectorAll("[id]").forEach(function (el) { el.id = withId(el.id, id); });
    part.querySelectorAll("label[for]").forEach(function (label) { label.htmlFor = withId(label.htmlFor, id); });
    part.querySelectorAll("form").forEach(function (form) {
      form.setAttribute("action", form.getAttribute("action").replace(/\/0\//, "/" + id + "/"));
    });
    part.querySelector("summary .visually-hidden").textContent = " #" + id;
    var form = part.querySelector("form[data-item]");
    var data = link.dataset;
    form.dataset.item = id;
    form.dataset.owner = form.elements.owner.value = form.elements.loaded_owner.value = data.owner;
    form.dataset.due = form.elements.due_date.value = form.elements.loaded_due_date.value = data.due;
    form.dataset.status = form.elements.status.value = form.elements.loaded_status.value = data.status;
    if (!("snooze" in data)) part.querySelector("form.snooze").remove();
    var details = part.querySelector("details");
    link.replaceWith(part);
    return details;
  }
  function firstField(details) { details.querySelector("input:not([type=hidden]), select").focus(); }
  function closeForms(details) {
    details.open = false;
    details.querySelector("summary").focus();
  }
  if (table && template) {
    table.addEventListener("click", function (event) {
      var link = event.target.closest("a.row-change");
      var summary = event.target.closest("details.row-edit > summary");
      if (link) {
        event.preventDefault();
        firstField(openForms(link));
      } else if (summary && !summary.parentNode.open) {
        window.setTimeout(function () { firstField(summary.parentNode); }, 0);  // once open
      }
    });
    table.addEventListener("keydown", function (event) {
      var details = event.target.closest("details.row-edit[open]");
      if (event.key === "Escape" && details) closeForms(details);
    });
  }

  if (!window.Hindsight || !window.fetch) return;  // pages.js: the shared API helper
  var emails = {};
  var seen = {};
  document.querySelectorAll("#people-list option").forEach(function (option) {
    var name = option.value.toLowerCase();
    emails[name] = seen[name] ? null : option.dataset.email;  // a name two people share: let the server ask
    seen[name] = true;
  });

  function dayInWords(iso) {
    var parts = iso.split("-");
    var day = new Date(Date.UTC(+parts[0], +parts[1] - 1, +parts[2]));
    var words = day.toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" });
    return words.replace(",", "") + (+parts[0] !== new Date().getFullYear() ? " " + parts[0] : "");
  }

  var FAILED = {
    404: "This item is not there any more, or you may no longer see it. Reload the board.",
    409: "Someone changed this item meanwhile. Reload the board to see their change.",
    422: "That could not be saved: the owner may not see this incident, or the date is not valid.",
    401: "Your session has ended. Sign in again.",
    403: "You may not change this item."
  };

  // Every row's change form, those opened later included: the table hears their "submit".
  if (table) {
    table.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.matches("form.row-form[data-item]")) return;
      var row = document.getElementById("item-" + form.dataset.item);
      var said = row.querySelector(".row-said");
      var owner = form.elements.owner.value.trim();
      var body = {};
      if (owner.toLowerCase() !== form.dataset.owner.toLowerCase()) {
        var email = emails[owner.toLowerCase()];
        if (!email) return;  // not a name the page knows: the plain post explains
        body.owner = email;
      }
      if (form.elements.due_date.value !== form.dataset.due) body.due_date = form.elements.due_date.value;
      if (form.elements.status.value !== form.dataset.status) body.status = form.elements.status.value;
      event.preventDefault();
      if (!Object.keys(body).length) { say(said, "Nothing changed.", false); return; }
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      say(said, "Saving…", false);
      window.Hindsight.api("PATCH", "/api/v1/action-items/" + form.dataset.item, body).then(function (result) {
        if (result.status === 0) throw new Error("Hindsight did not answer: check the connection and try again.");
        if (!result.ok) throw new Error(FAILED[result.status] || "That could not be saved. Try again in a minute.");
        var status = form.elements.status;
        form.dataset.owner = owner;
        form.dataset.due = form.elements.due_date.value;
        form.dataset.status = status.value;
        form.elements.loaded_owner.value = owner;
        form.elements.loaded_due_date.value = form.dataset.due;
        form.elements.loaded_status.value = status.value;
        var person = row.querySelector(".cell-owner .person");
        if (body.owner && person) { person.textContent = owner; person.title = body.owner; }
        if (body.due_date || body.status) showDue(row, form.dataset.due, status.value);
        if (body.status) row.querySelector(".cell-status").textContent = status.options[status.selectedIndex].text;
        say(said, "Saved. Jira gets the change in a moment.", false);
        closeForms(form.closest("details"));
      }).catch(function (error) {
        say(said, error.message, true);
      }).then(function () { button.disabled = false; });
    });
  }

  // The due cell as the server draws it: the day in words, and how late when still open and past due.
  var today = table && table.dataset.today;
  var stillOpen = table ? (table.dataset.open || "").split(" ") : [];
  function showDue(row, iso, status) {
    var cell = row.querySelector(".cell-due");
    var late = today && iso < today && stillOpen.indexOf(status) !== -1;
    var snoozed = cell.querySelector(".snoozed");
    cell.textContent = dayInWords(iso);
    if (late) {
      var days = Math.round((Date.parse(today) - Date.parse(iso)) / 86400000);
      cell.append(" ", window.Hindsight.el("span", { "class": "badge SEV0" }, "overdue"), " ",
                  window.Hindsight.el("span", { "class": "muted" }, "by " + days + (days === 1 ? " day" : " days")));
    }
    if (snoozed && stillOpen.indexOf(status) !== -1) cell.append(window.Hindsight.el("br"), snoozed);
    row.classList.toggle("overdue", !!late);
  }

  function say(place, text, bad) {
    if (!place) return;
    place.textContent = text;
    place.classList.toggle("error", !!bad);
  }
})();
