/* Signature pad for the close-out (销号) form: draw with a finger, a pen or a mouse (pointer
   events); the drawing goes into the hidden input "signature" as a PNG data URL. Also shows
   only the part of the form that belongs to the chosen signing method. No libraries. */
(function () {
  "use strict";
  var canvas = document.querySelector("[data-signature-pad]");
  if (!canvas || !canvas.getContext) return;
  var form = canvas.closest("form");
  var input = form.querySelector("input[name=signature]");
  var clearButton = form.querySelector("[data-signature-clear]");
  var ctx = canvas.getContext("2d");
  // Sharp on high-density screens, but not so large that the upload grows needlessly.
  var ratio = Math.min(window.devicePixelRatio || 1, 2);
  var drawing = false;
  var dirty = false;
  var last = null;

  function setUp() {
    var rect = canvas.getBoundingClientRect();
    if (rect.width === 0) return false;
    canvas.width = Math.round(rect.width * ratio);
    canvas.height = Math.round(rect.height * ratio);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.lineWidth = 2.5;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#111";
    ctx.fillStyle = "#111";
    return true;
  }

  function point(event) {
    var rect = canvas.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  function save() {
    input.value = dirty ? canvas.toDataURL("image/png") : "";
  }

  function clear() {
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.restore();
    dirty = false;
    input.value = "";
  }

  canvas.addEventListener("pointerdown", function (event) {
    if (canvas.width === 0 && !setUp()) return;
    event.preventDefault();
    drawing = true;
    dirty = true;
    last = point(event);
    if (canvas.setPointerCapture) canvas.setPointerCapture(event.pointerId);
    ctx.beginPath();
    ctx.arc(last.x, last.y, ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fill();
  });

  canvas.addEventListener("pointermove", function (event) {
    if (!drawing) return;
    event.preventDefault();
    var p = point(event);
    ctx.beginPath();
    ctx.moveTo(last.x, last.y);
    ctx.lineTo(p.x, p.y);
    ctx.stroke();
    last = p;
  });

  function end() {
    if (!drawing) return;
    drawing = false;
    save();
  }
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  if (clearButton) clearButton.addEventListener("click", clear);
  form.addEventListener("submit", function () {
    if (dirty) save();
  });

  // A refused form comes back with the signature already drawn: show it again.
  function restore() {
    if (input.value.indexOf("data:image/png;base64,") !== 0) return;
    var image = new Image();
    image.onload = function () {
      var rect = canvas.getBoundingClientRect();
      ctx.drawImage(image, 0, 0, rect.width, rect.height);
      dirty = true;
    };
    image.src = input.value;
  }

  // Only the part of the form for the chosen method (screen or paper) is shown.
  var parts = form.querySelectorAll(".method-part[data-method]");
  function showMethod() {
    var chosen = form.querySelector("input[name=method]:checked");
    var method = chosen ? chosen.value : "screen";
    for (var i = 0; i < parts.length; i++) {
      parts[i].hidden = parts[i].getAttribute("data-method") !== method;
    }
    if (method === "screen" && canvas.width !== Math.round(canvas.getBoundingClientRect().width * ratio)) {
      if (setUp()) restore();
    }
  }
  var radios = form.querySelectorAll("input[name=method]");
  for (var i = 0; i < radios.length; i++) radios[i].addEventListener("change", showMethod);
  showMethod();
})();
