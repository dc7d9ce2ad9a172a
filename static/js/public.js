// The public pages: tell the visitor at once when a chosen photo is too big or not a
// photo (the server checks again). No tracking, no third-party code.
(function () {
  "use strict";
  var MAX = 5 * 1024 * 1024;
  var TYPES = ["image/jpeg", "image/png", "image/webp"];
  document.querySelectorAll('input[type="file"]').forEach(function (input) {
    var note = input.parentNode.querySelector("[data-photo-note]");
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      var message = "";
      if (file && file.size > MAX) {
        message = "照片超过 5 MB，请换一张或压缩后再上传。";
      } else if (file && file.type && TYPES.indexOf(file.type) < 0) {
        message = "只接受 JPEG、PNG、WebP 格式的照片。";
      }
      if (note) {
        note.textContent = message;
        note.hidden = !message;
      }
      input.setCustomValidity(message);
    });
  });
})();
