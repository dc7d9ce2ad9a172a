// The print pages' 打印 button (no inline handlers: the Content-Security-Policy allows
// scripts from our own files only).
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () {
      window.print();
    });
  });
})();
