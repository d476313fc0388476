// Staff calendar: drag a booked visit (.cal-appt[draggable]) onto an empty cell (.cal-cell) to
// open its move page with that date, time and room or clinician filled in. Nothing moves until
// the move page's form is sent: the booking service checks every rule there and shows its
// reason when it refuses. Keyboard users use the "Move" link beside each visit instead.
// Listeners sit on document so grids swapped in by htmx work without re-binding.
(function () {
  "use strict";
  if (window.propelCalendar) { return; }
  window.propelCalendar = true;
  let dragged = null;

  function cellOf(event) {
    return event.target instanceof Element ? event.target.closest(".cal-cell") : null;
  }

  document.addEventListener("dragstart", function (event) {
    const visit = event.target instanceof Element ? event.target.closest(".cal-appt[data-move]") : null;
    if (!visit) { return; }
    dragged = visit;
    visit.classList.add("cal-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", visit.dataset.move);
  });

  document.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("cal-dragging"); }
    dragged = null;
    document.querySelectorAll(".cal-drop").forEach(function (cell) { cell.classList.remove("cal-drop"); });
  });

  document.addEventListener("dragover", function (event) {
    const cell = cellOf(event);
    if (!dragged || !cell) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    cell.classList.add("cal-drop");
  });

  document.addEventListener("dragleave", function (event) {
    const cell = cellOf(event);
    if (cell) { cell.classList.remove("cal-drop"); }
  });

  document.addEventListener("drop", function (event) {
    const cell = cellOf(event);
    if (!dragged || !cell) { return; }
    event.preventDefault();
    const column = cell.closest(".cal-body");
    const params = new URLSearchParams({ date: cell.dataset.date, time: cell.dataset.time });
    if (column && column.dataset.room) { params.set("room", column.dataset.room); }
    if (column && column.dataset.clinician) { params.set("clinician", column.dataset.clinician); }
    window.location.assign(dragged.dataset.move + "?" + params.toString());
  });
})();
