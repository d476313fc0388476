// A second tap on a slow phone must not send the form twice (the server copes, but the patient
// would see a confusing answer). Going back to the page allows sending it again.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset.sent) { event.preventDefault(); return; }
  form.dataset.sent = "1";
});
window.addEventListener("pageshow", function () {
  document.querySelectorAll("form[data-sent]").forEach(function (form) { delete form.dataset.sent; });
});
