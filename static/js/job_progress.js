// The report job page: poll the job's JSON status and move the progress bar until the job is
// done (then show the download link) or failed (then show why). Without JavaScript the page
// still shows the state it was rendered with.
(function () {
  "use strict";
  var root = document.getElementById("job");
  if (!root) return;
  var url = root.getAttribute("data-status-url");
  var state = document.getElementById("job-state");
  var bar = document.getElementById("job-bar");
  var fill = bar.querySelector(".job-bar-fill");
  var percent = document.getElementById("job-percent");
  var message = document.getElementById("job-message");
  var download = document.getElementById("job-download");
  var link = document.getElementById("job-download-link");
  var file = document.getElementById("job-file");
  var delay = 1000;
  var MAX_DELAY = 5000;

  function show(data) {
    state.textContent = data.status_label;
    state.className = "tag job-state state-" + data.status;
    root.setAttribute("data-status", data.status);
    fill.style.width = data.percent + "%";
    bar.setAttribute("aria-valuenow", String(data.percent));
    percent.textContent = data.percent + "%";
    message.textContent = data.message;
    if (data.download_url) {
      link.href = data.download_url;
      file.textContent = data.result_name;
      download.hidden = false;
    }
  }

  function later() {
    window.setTimeout(poll, delay);
    delay = Math.min(Math.round(delay * 1.5), MAX_DELAY);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        show(data);
        if (!data.finished) later();
      })
      .catch(function () {
        message.textContent = "暂时无法获取进度，稍后自动重试…";
        later();
      });
  }

  var status = root.getAttribute("data-status");
  if (status !== "done" && status !== "failed") poll();
})();
