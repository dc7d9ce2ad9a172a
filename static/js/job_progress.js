// A background job's page (report jobs, ledger imports): poll the job's JSON status and move
// the progress bar until the job settles. The page's root element carries
// data-job-progress="<id prefix>" and data-status-url; its parts are found by id
// (<prefix>-state, -bar, -percent, -message, and optionally -count, -download, -download-link,
// -file). With data-reload="1" the page reloads when the job settles (it then renders the
// preview, the errors or the result); otherwise the download link is shown. Without
// JavaScript the page shows the state it was rendered with.
(function () {
  "use strict";
  var root = document.querySelector("[data-job-progress]");
  if (!root) return;
  var prefix = root.getAttribute("data-job-progress");
  function part(name) {
    return document.getElementById(prefix + "-" + name);
  }
  var url = root.getAttribute("data-status-url");
  var reload = root.getAttribute("data-reload") === "1";
  var state = part("state");
  var bar = part("bar");
  var fill = bar.firstElementChild;
  var percent = part("percent");
  var message = part("message");
  var count = part("count");
  var download = part("download");
  var link = part("download-link");
  var file = part("file");
  var delay = 700;
  var MAX_DELAY = 5000;

  function settled(data) {
    return "finished" in data ? data.finished : !data.busy;
  }

  function show(data) {
    state.textContent = data.status_label;
    state.className = state.className.replace(/\bstate-\S+/, "") + " state-" + data.status;
    root.setAttribute("data-status", data.status);
    fill.style.width = data.percent + "%";
    bar.setAttribute("aria-valuenow", String(data.percent));
    percent.textContent = data.percent + "%";
    if (count) count.textContent = data.total ? data.done + " / " + data.total + " 行" : "";
    message.textContent = data.message;
    if (download && data.download_url) {
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
        if (!settled(data)) later();
        else if (reload) window.location.reload();
      })
      .catch(function (error) {
        if (/HTTP 40[34]/.test(String(error && error.message))) {
          // Not (or no longer) this user's job: asking again will not change that.
          message.textContent = "无法查看该任务的进度，请刷新页面。";
          return;
        }
        message.textContent = "暂时无法获取进度，稍后自动重试…";
        later();
      });
  }

  var busy = root.getAttribute("data-busy");
  var status = root.getAttribute("data-status");
  if (busy !== null ? busy === "1" : status !== "done" && status !== "failed") poll();
})();
