/* Questionnaire progressive enhancement: hide questions that do not apply to the answers given
 * on this page, and move focus to the error summary. The server decides what is required and
 * what is saved; without this script every question is shown with a note saying when it applies.
 * No inline script: loaded with `defer` from templates/intake/section.html. */
(function () {
  "use strict";

  function valuesOf(form, name) {
    var values = [];
    var fields = form.querySelectorAll('[name="' + name + '"]');
    fields.forEach(function (field) {
      // An answer to a question that is itself hidden does not count (as on the server), so a
      // chain of follow-ups closes when its first answer changes. Parts come in page order.
      if (field.closest("[hidden]")) { return; }
      if (field.type === "radio" || field.type === "checkbox") {
        if (field.checked) { values.push(field.value); }
      } else if (field.value !== "") {
        values.push(field.value);
      }
    });
    return values;
  }

  function test(op, value, expected) {
    if (op === "in") { return expected.indexOf(value) !== -1; }
    if (op === "not_in") { return expected.indexOf(value) === -1; }
    var number = Number(value), limit = Number(expected[0]);
    if (value === "" || isNaN(number)) { return false; }
    if (op === ">") { return number > limit; }
    if (op === ">=") { return number >= limit; }
    if (op === "<") { return number < limit; }
    if (op === "<=") { return number <= limit; }
    return true;
  }

  function met(form, condition) {
    return condition.keys.some(function (key) {
      var values = valuesOf(form, key);
      if (values.length === 0) { return condition.op === "not_in"; }
      return values.some(function (value) { return test(condition.op, value, condition.values); });
    });
  }

  function update(form) {
    // In page order: a follow-up always comes after the question it depends on.
    form.querySelectorAll("[data-show-if]").forEach(function (part) {
      var condition;
      try { condition = JSON.parse(part.getAttribute("data-show-if")); } catch (e) { return; }
      var show = met(form, condition);
      part.hidden = !show;
      var note = part.querySelector(".depends-note");
      if (note) { note.hidden = true; }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-questionnaire]").forEach(function (form) {
      update(form);
      form.addEventListener("change", function () { update(form); });
    });
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  });
})();
