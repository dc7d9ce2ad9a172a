// The ledger import job page: while the check or the import runs, poll the job's JSON status
// and move the progress bar; once the job settles (检查完成 / 有错误 / 已完成 / 失败), reload the
// page, which then shows the preview, the errors or the result. Without JavaScript the page
// shows the state it was rendered with and asks to be refreshed.
(function () {
  "use strict";
  var root = document.getElementById("import-job");
  if (!root || root.getAttribute("data-busy") !== "1") return;
  var url = root.getAttribute("data-status-url");
  var state = document.getElementById("import-state");
  var bar = document.getElementById("import-bar");
  var fill = bar.querySelector(".import-bar-fill");
  var percent = document.getElementById("import-percent");
  var count = document.getElementById("import-count");
  var message = document.getElementById("import-message");
  var delay = 700;
  var MAX_DELAY = 4000;

  function show(data) {
    state.textContent = data.status_label;
    state.className = "tag import-state state-" + data.status;
    root.setAttribute("data-status", data.status);
    fill.style.width = data.percent + "%";
    bar.setAttribute("aria-valuenow", String(data.percent));
    percent.textContent = data.percent + "%";
    count.textContent = data.total ? data.done + " / " + data.total + " 行" : "";
    message.textContent = data.message;
  }

  function later() {
    window.setTimeout(poll, delay);
    delay = Math.min(Math.round(delay * 1.4), MAX_DELAY);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        show(data);
        if (data.busy) later();
        else window.location.reload();
      })
      .catch(function () {
        message.textContent = "暂时无法获取进度，稍后自动重试…";
        later();
      });
  }

  poll();
})();
