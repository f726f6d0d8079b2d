// The schedule page: a filter box above a long list of people to add, so a name can be typed.
// The page works without it: the select is a plain form control.
(function () {
  "use strict";
  var MIN_OPTIONS = 12;

  function addFilter(select) {
    var options = Array.prototype.slice.call(select.options, 1);
    if (options.length < MIN_OPTIONS) { return; }
    var id = select.id + "-filter";
    var label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = "Find someone by name";
    var input = document.createElement("input");
    input.type = "text";
    input.id = id;
    input.className = "people-filter";
    input.autocomplete = "off";
    input.addEventListener("input", function () {
      var words = input.value.trim().toLowerCase();
      options.forEach(function (option) {
        var text = (option.textContent + " " + (option.title || "")).toLowerCase();
        option.hidden = words !== "" && text.indexOf(words) < 0;
      });
    });
    var field = select.previousElementSibling;
    select.parentNode.insertBefore(label, field && field.tagName === "LABEL" ? field : select);
    select.parentNode.insertBefore(input, field && field.tagName === "LABEL" ? field : select);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select.filterable").forEach(addFilter);
  });
})();
