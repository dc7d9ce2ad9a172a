/* Small behaviours any page may ask for in its markup. The Content-Security-Policy allows
   scripts from files only, so pages carry no inline handlers (onclick=, onsubmit=…):
   - <form data-confirm="question">: asks before the form is sent;
   - <button data-print>: prints the page;
   - <input data-select-all>: its whole text is selected when it is focused or clicked. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!target.closest) return;
    if (target.closest("[data-print]")) window.print();
    var input = target.closest("[data-select-all]");
    if (input) input.select();
  });
  document.addEventListener("focusin", function (event) {
    var target = event.target;
    if (target.matches && target.matches("[data-select-all]")) target.select();
  });
})();
