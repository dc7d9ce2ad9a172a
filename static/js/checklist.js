/* The acceptance checklist (验收清单), progressively enhanced; the form works without it.
   - A "全部合格" button per checklist sets every item to 合格; each item can still be changed
     to 不合格 afterwards, one by one. The server checks every item either way.
   - After a refused submission the page is scrolled to the first item to fix.
   No libraries. */
(function () {
  "use strict";

  function rowOf(input) {
    return input.closest("li[data-item]");
  }

  function markAnswered(row) {
    var checked = row.querySelector("input[type=radio]:checked");
    if (!checked) return;
    row.classList.remove("missing");
    row.classList.toggle("failed", checked.value === "fail");
    var error = row.querySelector("[data-row-error]");
    if (error) error.remove();
  }

  document.querySelectorAll("ul[data-checklist]").forEach(function (list) {
    var tools = list.previousElementSibling;
    if (!tools || !tools.hasAttribute("data-checklist-tools")) {
      tools = document.createElement("div");
      tools.className = "checklist-tools";
      list.parentNode.insertBefore(tools, list);
    }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button";
    button.setAttribute("data-all-pass", "");
    button.textContent = "全部合格";
    var status = document.createElement("span");
    status.setAttribute("data-check-status", "");
    status.setAttribute("aria-live", "polite");
    tools.appendChild(button);
    tools.appendChild(status);

    button.addEventListener("click", function () {
      list.querySelectorAll("input[type=radio][value=pass]").forEach(function (radio) {
        radio.checked = true;
        markAnswered(rowOf(radio));
      });
      status.textContent = "已全部选为“合格”。请逐项核对，不合格的项请单独改为“不合格”。";
    });

    list.addEventListener("change", function (event) {
      var row = event.target.type === "radio" ? rowOf(event.target) : null;
      if (row) {
        markAnswered(row);
        status.textContent = "";
      }
    });
  });

  // A refused submission: bring the first item to fix into view (the banner above lists all).
  if (document.querySelector("[data-form-errors]")) {
    var first = document.querySelector(
      "ul[data-checklist] li.missing, ul[data-checklist] li.failed, .field.has-error"
    );
    var target = first || document.querySelector("[data-form-errors]");
    target.scrollIntoView({ block: "start" });
    var focusable = first ? first.querySelector("input, textarea, select") : target;
    if (focusable) focusable.focus({ preventScroll: true });
  }
})();
