/* The inspection form on a phone.
 *
 * - Photos are kept on the page as they are chosen (several camera shots add up; each can be
 *   removed), so an error never makes the surveyor pick them again.
 * - Saving checks the form with the server's rules first and shows every problem at once:
 *   a banner at the top listing them, each field marked, the page scrolled to the banner.
 * - A checked record goes into the phone's queue (IndexedDB, with its photos and the phone's
 *   position) and is sent at once when there is a connection; without one it waits there,
 *   and the page says so. What the server refuses comes back onto the form, photos kept.
 * - Opened without a connection for a toilet whose form this phone never loaded, the page is
 *   an empty shell filled in from the stored worklist.
 * Without IndexedDB (or without JavaScript) the form posts to the server as a plain form.
 */
/* global OfflineQueue, Offline */
(function () {
  "use strict";
  var form = document.querySelector("form[data-offline-form]");
  if (!form || !window.Offline || !window.OfflineQueue) return;

  var INSPECT_PATH = /\/surveys\/rounds\/(\d+)\/toilets\/(\d+)\/inspect\/$/;
  var PROBLEM = ["unusable", "not_year_round"];
  var EARLIEST_YEAR = 2000;
  var banner = document.getElementById("form-banner");
  var photoInput = form.querySelector("input[type=file][name=photos]");
  var photoList = form.querySelector("[data-photo-list]");
  var photos = [];  // [{name, type, blob}]
  var snapshot = null;
  var lastFix = null;
  var usabilityLabels = {};

  form.querySelectorAll("input[name=usability]").forEach(function (input) {
    var label = input.closest("label");
    usabilityLabels[input.value] = label ? label.textContent.trim() : input.value;
  });

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text != null) node.textContent = text;
    return node;
  }

  function field(name) {
    return form.querySelector("[name=" + name + "]");
  }

  function checked(name) {
    var input = form.querySelector("input[name=" + name + "]:checked");
    return input ? input.value : "";
  }

  function allChecked(name) {
    return Array.prototype.map.call(form.querySelectorAll("input[name=" + name + "]:checked"), function (i) { return i.value; });
  }

  function labelOf(name) {
    var input = field(name);
    if (!input) return name;
    var box = input.closest(".field");
    var label = box && box.querySelector("label[for], label.check");
    if (input.type === "checkbox" && name === "signed") return "签字确认";
    var text = label ? label.textContent.replace("*", "").split("（")[0].trim() : name;
    return text.length > 20 ? text.slice(0, 20) + "…" : text;
  }

  // Photos ------------------------------------------------------------------------------

  function renderPhotos() {
    if (!photoList) return;
    photoList.innerHTML = "";
    photoList.hidden = photos.length === 0;
    photos.forEach(function (photo, index) {
      var item = el("li");
      var img = el("img", { alt: "待保存的照片 " + (index + 1) });
      img.src = URL.createObjectURL(photo.blob);
      var remove = el("button", { type: "button", "aria-label": "删除这张照片", "data-remove": String(index) }, "×");
      item.appendChild(img);
      item.appendChild(remove);
      photoList.appendChild(item);
    });
    var help = photoInput && photoInput.closest(".field") && photoInput.closest(".field").querySelector("small");
    if (help) {
      help.textContent = photos.length
        ? "已选 " + photos.length + " 张照片，保存时一并上传；可继续拍照或选择，点照片右上角 × 删除。"
        : "可现场拍照或一次选多张；照片中的拍摄时间和位置会一并保存。";
    }
  }

  if (photoInput) {
    photoInput.addEventListener("change", function () {
      Array.prototype.forEach.call(photoInput.files || [], function (file) {
        photos.push({ name: file.name, type: file.type, blob: file });
      });
      photoInput.value = "";  // the next shot adds to these instead of replacing them
      renderPhotos();
    });
  }
  if (photoList) {
    photoList.addEventListener("click", function (event) {
      var button = event.target.closest("[data-remove]");
      if (!button) return;
      photos.splice(Number(button.getAttribute("data-remove")), 1);
      renderPhotos();
    });
  }

  // The phone's position --------------------------------------------------------------------

  function locate(timeout) {
    return new Promise(function (resolve) {
      if (!("geolocation" in navigator)) { resolve(lastFix); return; }
      var done = false;
      var timer = setTimeout(function () { if (!done) { done = true; resolve(lastFix); } }, timeout);
      navigator.geolocation.getCurrentPosition(function (position) {
        lastFix = { latitude: position.coords.latitude, longitude: position.coords.longitude, accuracy: position.coords.accuracy };
        if (!done) { done = true; clearTimeout(timer); resolve(lastFix); }
      }, function () {
        if (!done) { done = true; clearTimeout(timer); resolve(lastFix); }
      }, { enableHighAccuracy: true, maximumAge: 120000, timeout: timeout });
    });
  }
  locate(8000);

  // Errors ------------------------------------------------------------------------------------

  function clearErrors() {
    form.querySelectorAll("[data-client-error]").forEach(function (node) { node.remove(); });
    form.querySelectorAll(".field.has-error").forEach(function (node) { node.classList.remove("has-error"); });
    form.querySelectorAll(".field-error").forEach(function (node) { node.remove(); });
    banner.hidden = true;
    banner.innerHTML = "";
  }

  function showErrors(errors, general) {
    clearErrors();
    var items = [];
    (general || []).forEach(function (message) { items.push({ text: message }); });
    Object.keys(errors).forEach(function (name) {
      var messages = [].concat(errors[name]);
      var input = field(name);
      var box = input && input.closest(".field");
      messages.forEach(function (message) {
        if (box) {
          box.classList.add("has-error");
          box.appendChild(el("p", { "class": "field-error", "data-client-error": "" }, message));
          items.push({ text: labelOf(name) + "：" + message, target: input.id });
        } else {
          items.push({ text: message });
        }
      });
    });
    if (!items.length) return;
    banner.appendChild(el("p", {}, "有 " + items.length + " 处需要修改，改好后再保存（已选的照片仍在）："));
    var list = el("ul");
    items.forEach(function (item) {
      var li = el("li");
      if (item.target) li.appendChild(el("a", { href: "#" + item.target }, item.text));
      else li.textContent = item.text;
      list.appendChild(li);
    });
    banner.appendChild(list);
    banner.hidden = false;
    banner.scrollIntoView({ block: "start" });
    banner.focus({ preventScroll: true });
  }

  // The server's rules (surveys.services._check_inspection), checked on the phone.
  function check(record, photoTotal) {
    var errors = {};
    if (!checked("household_present")) errors.household_present = "请选择农户是否在家。";
    if (!record.check_method) errors.check_method = "请选择核查方式。";
    if (!record.usability) errors.usability = "请选择使用情况。";
    var problem = PROBLEM.indexOf(record.usability) >= 0;
    if (problem && !record.categories.length) {
      errors.categories = "不能使用或不能全年使用的厕所，请至少选择一项问题类型。";
    }
    if (record.usability && !problem && record.categories.length) {
      errors.categories = "正常使用的厕所不选问题类型；当场修好的小毛病请填在“立行立改”。";
    }
    if (!record.partner_name.trim()) errors.partner_name = "入户调查组不少于 2 人，请填写同组摸排人。";
    var when = field("inspected_at").value;
    if (!when) {
      errors.inspected_at = "请填写摸排时间。";
    } else if (new Date(when).getTime() > Date.now() + 60000) {
      errors.inspected_at = "摸排时间不能晚于现在。";
    } else if (new Date(when).getFullYear() < EARLIEST_YEAR) {
      errors.inspected_at = "摸排时间不能早于 " + EARLIEST_YEAR + " 年，请检查日期。";
    }
    if (!record.signed) errors.signed = "请勾选“本人对摸排结果真实性负责”后再保存。";
    if (field("evidence_reason") && problem && photoTotal === 0 && !record.evidence_reason.trim()) {
      errors.evidence_reason = "问题厕所没有现场照片：请拍照，或填写没有照片的原因后再保存。";
    }
    return errors;
  }

  function localIso(value) {
    // "2026-12-04T09:30" as the phone's local time, with its offset: the server keeps the instant.
    var date = new Date(value);
    var offset = -date.getTimezoneOffset();
    var sign = offset >= 0 ? "+" : "-";
    var abs = Math.abs(offset);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return value.slice(0, 16) + ":00" + sign + two(Math.floor(abs / 60)) + ":" + two(abs % 60);
  }

  function collect() {
    var reason = field("evidence_reason");
    return {
      round: Number(form.getAttribute("data-round")),
      toilet: Number(form.getAttribute("data-toilet")),
      base_version: form.getAttribute("data-base-version") ? Number(form.getAttribute("data-base-version")) : null,
      household_present: checked("household_present") === "True",
      check_method: checked("check_method"),
      usability: checked("usability"),
      categories: allChecked("categories"),
      minor_fixes: (field("minor_fixes") || {}).value || "",
      notes: (field("notes") || {}).value || "",
      partner_name: (field("partner_name") || {}).value || "",
      inspected_at: field("inspected_at").value ? localIso(field("inspected_at").value) : "",
      signed: !!(field("signed") && field("signed").checked),
      evidence_reason: reason ? reason.value : "",
      latitude: null,
      longitude: null,
      accuracy: null,
      resolution: "",
    };
  }

  // Filling the form from a record kept on the phone (a refused one, a conflict, a shell).
  function fill(record) {
    function setRadio(name, value) {
      form.querySelectorAll("input[name=" + name + "]").forEach(function (input) { input.checked = input.value === value; });
    }
    setRadio("household_present", record.household_present ? "True" : "False");
    setRadio("check_method", record.check_method);
    setRadio("usability", record.usability);
    form.querySelectorAll("input[name=categories]").forEach(function (input) {
      input.checked = record.categories.indexOf(input.value) >= 0;
    });
    ["minor_fixes", "notes", "partner_name", "evidence_reason"].forEach(function (name) {
      if (field(name)) field(name).value = record[name] || "";
    });
    if (record.inspected_at) field("inspected_at").value = record.inspected_at.slice(0, 16);
  }

  // The next toilet that still needs the surveyor, from the stored worklist.
  function nextFromSnapshot(toiletId) {
    if (!snapshot) return "";
    var rows = snapshot.toilets;
    var index = rows.findIndex(function (t) { return t.id === toiletId; });
    for (var i = index + 1; i < rows.length; i++) {
      var inspection = rows[i].inspection;
      if (!inspection || inspection.status === "returned") return rows[i].inspect_url;
    }
    return "";
  }

  function goOn(text, kind) {
    // Online, the server works out 下一户 when it is followed; offline, the stored worklist.
    var next = (navigator.onLine && form.getAttribute("data-next-url")) ||
      nextFromSnapshot(Number(form.getAttribute("data-toilet")));
    Offline.flash(text, kind, next ? { href: next, text: "下一户" } : null);
    window.location.assign(form.getAttribute("data-worklist-url"));
  }

  var saving = false;

  async function save(event) {
    event.preventDefault();
    if (saving) return;
    var record = collect();
    var existing = Number(form.getAttribute("data-photo-count") || 0);
    var errors = check(record, existing + photos.length);
    if (Object.keys(errors).length) { showErrors(errors); return; }
    saving = true;
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    button.textContent = "正在保存…";
    try {
      var fix = await locate(5000);
      if (fix) {
        record.latitude = Number(fix.latitude.toFixed(6));
        record.longitude = Number(fix.longitude.toFixed(6));
        record.accuracy = Math.round(fix.accuracy);
      }
      var old = await OfflineQueue.forToilet(Offline.user, record.round, record.toilet);
      if (old) await OfflineQueue.remove(old.key);
      var entry = await OfflineQueue.put({
        user: String(Offline.user),
        round: record.round,
        toilet: record.toilet,
        label: form.getAttribute("data-label") || ("厕所 #" + record.toilet),
        formUrl: window.location.pathname,
        usabilityLabels: usabilityLabels,
        record: record,
        photos: photos.slice(),
        csrf: Offline.csrfToken(),
      });
      var label = entry.label + "（" + (usabilityLabels[record.usability] || "") + "）";
      var outcome = { kind: "offline" };
      if (navigator.onLine) {
        var result = await OfflineQueue.syncAll(Offline.user, Offline.csrfToken(), entry.key);
        outcome = result.results.filter(function (r) { return r.entry.key === entry.key; })[0] || { kind: "offline" };
      }
      if (outcome.kind === "stored") {
        goOn("已保存：" + label + "。", "success");
        return;
      }
      if (outcome.kind === "rejected") {
        var body = outcome.body || {};
        showErrors(body.errors || {}, body.errors ? (body.errors.non_field_errors || []) : [body.detail || "服务器拒绝了这条记录。"]);
        await Offline.refresh();
        return;
      }
      if (outcome.kind === "conflict") {
        await Offline.refresh();
        showErrors({}, [(outcome.body && outcome.body.detail) || "该厕所已有他人录入的记录。请在下方选择保留哪一份。"]);
        return;
      }
      Offline.askForBackgroundSync();
      var waiting = (await OfflineQueue.all(Offline.user)).filter(function (r) { return r.state === "queued"; }).length;
      goOn("已保存在本机，待同步 (" + waiting + ")：" + label + "。有网络后自动同步。", "info");
    } finally {
      saving = false;
      button.disabled = false;
      button.textContent = "保存";
    }
  }

  async function start() {
    if (form.getAttribute("data-shell")) {
      var match = window.location.pathname.match(INSPECT_PATH);
      var toilet = null;
      if (match) {
        snapshot = await OfflineQueue.worklist(Number(match[1]));
        toilet = snapshot && snapshot.toilets.filter(function (t) { return t.id === Number(match[2]); })[0];
      }
      if (!toilet) {
        form.hidden = true;
        var note = document.querySelector("[data-shell-note]");
        if (note) note.textContent = "本机没有保存这个厕所的信息：请在有网络时先打开一次摸排任务清单。";
        return;
      }
      form.setAttribute("data-round", match[1]);
      form.setAttribute("data-toilet", match[2]);
      form.setAttribute("data-label", toilet.label);
      form.setAttribute("data-photo-count", toilet.inspection ? toilet.inspection.photo_count : 0);
      form.setAttribute("data-base-version", toilet.inspection ? toilet.inspection.version : "");
      form.setAttribute("data-worklist-url", snapshot.worklist_url);
      document.querySelectorAll("[data-worklist-link]").forEach(function (a) { a.href = snapshot.worklist_url; });
      document.querySelectorAll("[data-toilet-label]").forEach(function (node) { node.textContent = toilet.label; });
      var facts = document.querySelector("[data-toilet-facts]");
      if (facts) facts.textContent = [toilet.village, toilet.tech_type, toilet.build_year + " 年建", toilet.placement, toilet.funding].join(" · ");
      document.title = "摸排：" + toilet.label;
      if (toilet.inspection && toilet.inspection.status === "verified") {
        form.hidden = true;
        if (note) note.textContent = "该记录已经乡镇核查，不能再修改。";
      }
      if (toilet.inspection && toilet.inspection.status === "returned") {
        var returned = document.querySelector("[data-returned]");
        returned.textContent = "乡镇退回：" + toilet.inspection.return_reason;
        returned.hidden = false;
      }
      var now = new Date();
      now.setMinutes(now.getMinutes() - now.getTimezoneOffset());
      field("inspected_at").value = now.toISOString().slice(0, 16);
    } else {
      snapshot = await OfflineQueue.worklist(Number(form.getAttribute("data-round")));
    }
    var kept = await OfflineQueue.forToilet(Offline.user, form.getAttribute("data-round"), form.getAttribute("data-toilet"));
    if (kept) {
      fill(kept.record);
      photos = (kept.photos || []).slice();
      renderPhotos();
      if (kept.state === "rejected" && kept.errors) {
        showErrors(kept.errors.errors || {}, kept.errors.detail ? [kept.errors.detail] : []);
      }
    }
    form.addEventListener("submit", save);
    performance.mark("form-ready");
  }

  // The server's own errors (a plain post): the page opens at the banner.
  if (banner && !banner.hidden) banner.scrollIntoView({ block: "start" });
  start();
})();
