// The action-item board (the page works without this script; it only spares a reload):
// - on a phone, the filters start folded unless some are on;
// - a row's "Change" form is sent to the JSON API (PATCH, with the X-CSRFToken header); the row
//   then shows the new owner, due date and status and says in words how it went. When the owner
//   typed is not a name the page knows, the form is posted as usual and the server explains.
(function () {
  "use strict";

  var filters = document.getElementById("filters");
  if (filters && filters.dataset.active !== "true" && window.matchMedia && window.matchMedia("(max-width: 700px)").matches) {
    filters.removeAttribute("open");
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

  document.querySelectorAll("form.row-form[data-item]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var row = document.getElementById("item-" + form.dataset.item);
      var said = form.querySelector(".row-said");
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
        if (body.due_date) row.querySelector(".cell-due").textContent = dayInWords(body.due_date);
        if (body.status) row.querySelector(".cell-status").textContent = status.options[status.selectedIndex].text;
        say(said, "Saved. Jira gets the change in a moment.", false);
      }).catch(function (error) {
        say(said, error.message, true);
      }).then(function () { button.disabled = false; });
    });
  });

  function say(place, text, bad) {
    if (!place) return;
    place.textContent = text;
    place.classList.toggle("error", !!bad);
  }
})();
