// The optional drawn signature on a consent form (templates/intake/consent/sign.html): draw with
// a finger, pen or mouse; "Clear" empties it. The drawing goes in the hidden field as a PNG data
// URL when the form is sent (the server checks and re-encodes it). Without this script the box
// stays hidden and the typed name is the signature.
(function () {
  "use strict";
  var pad = document.querySelector("[data-signature-pad]");
  if (!pad) { return; }
  var canvas = pad.querySelector("canvas");
  var field = pad.querySelector("input[type=hidden]");
  var clear = pad.querySelector("[data-signature-clear]");
  var context = canvas.getContext("2d");
  if (!context || !field) { return; }
  pad.hidden = false;
  var drawing = false;
  var drawn = false;
  context.lineWidth = 3;
  context.lineCap = "round";
  context.lineJoin = "round";
  context.strokeStyle = "#111";

  function point(event) {
    var box = canvas.getBoundingClientRect();
    return {
      x: (event.clientX - box.left) * (canvas.width / box.width),
      y: (event.clientY - box.top) * (canvas.height / box.height)
    };
  }
  canvas.addEventListener("pointerdown", function (event) {
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    var p = point(event);
    context.beginPath();
    context.moveTo(p.x, p.y);
    event.preventDefault();
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!drawing) { return; }
    var p = point(event);
    context.lineTo(p.x, p.y);
    context.stroke();
    drawn = true;
    event.preventDefault();
  });
  function stop() { drawing = false; }
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  clear.addEventListener("click", function () {
    context.clearRect(0, 0, canvas.width, canvas.height);
    drawn = false;
    field.value = "";
  });
  pad.closest("form").addEventListener("submit", function () {
    field.value = drawn ? canvas.toDataURL("image/png") : "";
  });
})();
