/* Working without a connection, on every signed-in page: registers the service worker,
 * keeps the open round's worklist on the phone, sends queued inspections when the
 * connection returns (on the "online" event, on every page load, and through Background
 * Sync where the browser has it), and says what is still waiting: 已保存在本机，待同步 (N).
 * Conflicts and refused records are listed on the worklist with what the surveyor can do.
 */
/* global OfflineQueue */
(function () {
  "use strict";
  var body = document.body;
  var user = body.getAttribute("data-user");
  if (!user || !window.indexedDB || !window.OfflineQueue) return;

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text != null) node.textContent = text;
    return node;
  }

  // A message for the next page (after a save the form goes on to the next toilet).
  function flash(text, kind, link) {
    var message = { text: text, kind: kind || "success", link: link || null };
    try { sessionStorage.setItem("flash", JSON.stringify(message)); } catch (e) { /* private mode */ }
  }

  function showFlash() {
    var raw = null;
    try { raw = sessionStorage.getItem("flash"); sessionStorage.removeItem("flash"); } catch (e) { return; }
    if (!raw) return;
    var message = JSON.parse(raw);
    var main = document.querySelector("main.page");
    if (!main) return;
    var list = main.querySelector("ul.messages");
    if (!list) {
      list = el("ul", { "class": "messages" });
      main.insertBefore(list, main.firstChild);
    }
    var item = el("li", { "class": "msg " + message.kind }, message.text);
    if (message.link) {
      item.appendChild(document.createTextNode(" "));
      item.appendChild(el("a", { "class": "button primary", href: message.link.href, "data-next": "" }, message.link.text));
    }
    list.appendChild(item);
  }

  var STATE_LABELS = { queued: "待同步", conflict: "有冲突，待处理", rejected: "被退回，待修改" };

  function describe(entry) {
    return entry.label || ("厕所 #" + entry.toilet);
  }

  async function refresh() {
    var rows = await OfflineQueue.all(user);
    var queued = rows.filter(function (r) { return r.state === "queued"; }).length;
    var attention = rows.length - queued;
    var banner = document.getElementById("sync-banner");
    if (banner) {
      banner.hidden = rows.length === 0;
      banner.classList.toggle("attention", attention > 0);
      var text = banner.querySelector("[data-sync-text]");
      var parts = [];
      if (queued) parts.push("已保存在本机，待同步 (" + queued + ")");
      if (attention) parts.push(attention + " 条需要您处理");
      if (text) text.textContent = parts.join("；");
      var now = banner.querySelector("[data-sync-now]");
      if (now) now.hidden = queued === 0;
    }
    // The worklist: each toilet with a record on the phone says so.
    document.querySelectorAll("[data-toilet]").forEach(function (card) {
      var round = card.getAttribute("data-round");
      var mine = rows.filter(function (r) {
        return String(r.toilet) === card.getAttribute("data-toilet") && (!round || String(r.round) === round);
      });
      var tag = card.querySelector(".sync-state");
      if (!tag) return;
      if (mine.length) {
        tag.hidden = false;
        tag.textContent = STATE_LABELS[mine[mine.length - 1].state] || "待同步";
        tag.className = "sync-state tag " + (mine[mine.length - 1].state === "queued" ? "queued-tag" : "warn-tag");
        card.classList.add("on-phone");
      } else {
        tag.hidden = true;
        card.classList.remove("on-phone");
      }
    });
    renderPanel(rows);
    return rows;
  }

  function conflictText(current) {
    if (!current) return "";
    var parts = [current.surveyor ? current.surveyor + " 录入" : "已有记录"];
    if (current.inspected_at) parts.push("摸排时间 " + current.inspected_at.replace("T", " ").slice(0, 16));
    if (current.usability_label) parts.push(current.usability_label);
    if (current.category_labels && current.category_labels.length) parts.push(current.category_labels.join("、"));
    if (current.status_label) parts.push(current.status_label);
    return parts.join(" · ");
  }

  function mineText(record, labels) {
    var parts = ["您的记录：摸排时间 " + (record.inspected_at || "").replace("T", " ").slice(0, 16)];
    if (labels && labels[record.usability]) parts.push(labels[record.usability]);
    return parts.join(" · ");
  }

  // The list of records on the phone, on the worklist (#sync-status) and on a toilet's form.
  function renderPanel(rows) {
    var panel = document.getElementById("sync-status");
    if (!panel) return;
    var form = document.querySelector("form[data-offline-form]");
    if (form) {
      rows = rows.filter(function (r) {
        return String(r.toilet) === form.getAttribute("data-toilet") && String(r.round) === form.getAttribute("data-round");
      });
    }
    panel.innerHTML = "";
    panel.hidden = rows.length === 0;
    if (!rows.length) return;
    panel.appendChild(el("h2", {}, "本机保存的记录"));
    var list = el("ul", { "class": "sync-list" });
    rows.forEach(function (entry) {
      var item = el("li", { "class": "sync-item " + entry.state, "data-key": entry.key });
      item.appendChild(el("strong", {}, describe(entry)));
      item.appendChild(el("span", { "class": "tag" }, STATE_LABELS[entry.state] || entry.state));
      item.appendChild(el("small", { "class": "muted" }, "保存于 " + new Date(entry.savedAt).toLocaleString("zh-CN")));
      if (entry.state === "conflict" && entry.conflict) {
        var reason = entry.conflict.reason === "verified" ? "乡镇已核查该厕所的记录。" : "在您保存之前，已有人录入了该厕所。";
        item.appendChild(el("p", { "class": "field-error" }, (entry.conflict.detail || reason)));
        item.appendChild(el("p", { "class": "theirs" }, "对方：" + conflictText(entry.conflict.current)));
        item.appendChild(el("p", { "class": "mine" }, mineText(entry.record, entry.usabilityLabels)));
        var keep = el("button", { type: "button", "class": "button", "data-action": "keep-theirs" }, "保留对方的记录");
        var send = el("button", { type: "button", "class": "button primary", "data-action": "send-correction" },
          entry.conflict.reason === "verified" ? "提交更正申请（乡镇审核）" : "发送我的记录作为更正（乡镇审核）");
        var actions = el("div", { "class": "form-actions" });
        actions.appendChild(keep);
        actions.appendChild(send);
        item.appendChild(actions);
      } else if (entry.state === "rejected") {
        var errors = entry.errors || {};
        var messages = [];
        if (errors.detail) messages.push(errors.detail);
        Object.keys(errors.errors || {}).forEach(function (name) {
          messages = messages.concat(errors.errors[name]);
        });
        messages.forEach(function (m) { item.appendChild(el("p", { "class": "field-error" }, m)); });
        var fix = el("div", { "class": "form-actions" });
        if (!form) fix.appendChild(el("a", { "class": "button primary", href: entry.formUrl || "#" }, "打开修改"));
        fix.appendChild(el("button", { type: "button", "class": "button", "data-action": "discard" }, "删除本机记录"));
        item.appendChild(fix);
      }
      list.appendChild(item);
    });
    panel.appendChild(list);
  }

  async function onPanelClick(event) {
    var button = event.target.closest("button[data-action]");
    if (!button) return;
    var key = button.closest("[data-key]").getAttribute("data-key");
    var rows = await OfflineQueue.all(user);
    var entry = rows.filter(function (r) { return r.key === key; })[0];
    if (!entry) return;
    var action = button.getAttribute("data-action");
    if (action === "keep-theirs" || action === "discard") {
      var question = action === "keep-theirs" ? "保留对方的记录，删除您在本机保存的这条记录？" : "删除本机保存的这条记录？照片也会一并删除。";
      if (!window.confirm(question)) return;
      await OfflineQueue.remove(key);
    } else if (action === "send-correction") {
      entry.record.resolution = "correction";
      if (entry.conflict && entry.conflict.current) entry.record.base_version = entry.conflict.current.version;
      entry.state = "queued";
      delete entry.conflict;
      await OfflineQueue.put(entry);
      await sync();
    }
    await refresh();
  }

  var lastResult = null;

  async function sync() {
    if (!navigator.onLine) { await refresh(); return null; }
    var result = await OfflineQueue.syncAll(user, csrfToken());
    lastResult = result;
    var banner = document.getElementById("sync-banner");
    if (banner) {
      var note = banner.querySelector("[data-sync-note]");
      if (note) {
        note.textContent = result.stoppedBy === "signed_out" ? "登录已过期，请重新登录后同步。" :
          result.stoppedBy === "retry" ? "服务器暂时无法保存，稍后自动重试。" :
          result.stoppedBy === "offline" ? "网络不通，有网络后自动同步。" : "";
      }
    }
    if (result.sent) {
      var live = document.getElementById("sync-live");
      if (live) live.textContent = "已同步 " + result.sent + " 条记录。";
      document.dispatchEvent(new CustomEvent("offline:synced", { detail: result }));
    }
    await refresh();
    return result;
  }

  // The open round's worklist, kept on the phone for forms opened without a connection.
  async function keepWorklist() {
    if (window.location.pathname !== "/surveys/worklist/" || !navigator.onLine) return;
    var round = new URLSearchParams(window.location.search).get("round");
    var url = "/surveys/offline/data/" + (round ? "?round=" + encodeURIComponent(round) : "");
    try {
      var response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) return;
      var snapshot = await response.json();
      await OfflineQueue.saveWorklist(snapshot);
    } catch (e) { /* kept from last time */ }
  }

  function registerWorker() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () { /* works online without it */ });
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data && event.data.type === "synced") refresh();
    });
  }

  function askForBackgroundSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.sync) return registration.sync.register("inspections");
    }).catch(function () { /* the page sends them itself */ });
  }

  function onSignOut(event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[action$='/accounts/logout/']")) return;
    if (pending > 0 && !window.confirm("本机还有 " + pending + " 条摸排记录没有同步。退出后它们仍保存在本机，下次用本账号登录时自动同步。确定退出？")) {
      event.preventDefault();
      return;
    }
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: "forget-pages" });
    }
    OfflineQueue.clearWorklists();
  }

  var pending = 0;

  window.Offline = {
    user: user,
    csrfToken: csrfToken,
    flash: flash,
    refresh: refresh,
    sync: sync,
    askForBackgroundSync: askForBackgroundSync,
    lastResult: function () { return lastResult; },
  };

  document.addEventListener("click", function (event) {
    if (event.target.closest("#sync-status")) onPanelClick(event);
    if (event.target.closest("[data-sync-now]")) sync();
  });
  document.addEventListener("submit", onSignOut, true);
  window.addEventListener("online", function () { sync(); });
  window.addEventListener("offline", function () { refresh(); });

  showFlash();
  registerWorker();
  OfflineQueue.setMeta("user", user);
  OfflineQueue.setMeta("csrf", csrfToken());
  refresh().then(function (rows) {
    pending = rows.length;
    return sync();
  }).then(function () {
    return OfflineQueue.all(user);
  }).then(function (rows) {
    pending = rows.length;
    return keepWorklist();
  });
})();
