/* The phone's queue of inspections saved while the signal comes and goes.
 *
 * Loaded by the pages (after idb) and by the service worker (importScripts), so that both
 * send queued records the same way. A record is kept in IndexedDB with its photos (as
 * Blobs, EXIF and all) until the server has answered for it:
 *   201 stored / 200 already stored (same key)  -> removed from the queue;
 *   409 conflict                                 -> kept, state "conflict", the server's version attached;
 *   400 / 404 refused                            -> kept, state "rejected", the server's messages attached;
 *   no connection, 5xx, signed out               -> kept as it is, sent again later.
 * Each record carries a UUID made on the phone (its idempotency key): sending it twice
 * stores it once. Records are sent one at a time, oldest first, and only by the user who
 * saved them.
 */
/* global idb */
(function (root) {
  "use strict";

  var DB_NAME = "toilet-survey";
  var SYNC_URL = "/api/v1/inspections/sync/";
  var dbPromise = null;

  function db() {
    if (!dbPromise) {
      dbPromise = idb.openDB(DB_NAME, 1, {
        upgrade: function (d) {
          var queue = d.createObjectStore("queue", { keyPath: "key" });
          queue.createIndex("by_toilet", ["user", "round", "toilet"]);
          d.createObjectStore("worklists", { keyPath: "round" });
          d.createObjectStore("meta");
        },
      });
    }
    return dbPromise;
  }

  function newKey() {
    if (root.crypto && root.crypto.randomUUID) return root.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    root.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  async function setMeta(name, value) {
    return (await db()).put("meta", value, name);
  }

  async function getMeta(name) {
    return (await db()).get("meta", name);
  }

  /* Put (or replace) a record: {key, user, round, toilet, label, record, photos: [{name, type, blob}],
   * state, savedAt, csrf}. */
  async function put(entry) {
    entry.key = entry.key || newKey();
    entry.state = entry.state || "queued";
    entry.savedAt = entry.savedAt || new Date().toISOString();
    await (await db()).put("queue", entry);
    return entry;
  }

  async function all(user) {
    var rows = await (await db()).getAll("queue");
    rows = rows.filter(function (r) { return user == null || String(r.user) === String(user); });
    rows.sort(function (a, b) { return a.savedAt < b.savedAt ? -1 : 1; });
    return rows;
  }

  async function forToilet(user, round, toilet) {
    var rows = await (await db()).getAllFromIndex(
      "queue", "by_toilet", [String(user), Number(round), Number(toilet)]);
    return rows.length ? rows[rows.length - 1] : null;
  }

  async function remove(key) {
    return (await db()).delete("queue", key);
  }

  async function saveWorklist(snapshot) {
    return (await db()).put("worklists", snapshot);
  }

  async function worklist(round) {
    return (await db()).get("worklists", Number(round));
  }

  async function clearWorklists() {
    return (await db()).clear("worklists");
  }

  function formData(entry) {
    var data = new FormData();
    data.append("key", entry.key);
    data.append("record", JSON.stringify(entry.record));
    (entry.photos || []).forEach(function (p) {
      data.append("photos", p.blob, p.name || "photo.jpg");
    });
    return data;
  }

  /* Send one record; resolves to the outcome {kind, status, body}. kind: "stored", "conflict",
   * "rejected", "offline" (no connection), "signed_out", "retry" (server trouble). */
  async function send(entry, csrf) {
    var response;
    try {
      response = await fetch(SYNC_URL, {
        method: "POST",
        body: formData(entry),
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf || entry.csrf || "", "Accept": "application/json" },
        redirect: "manual",
      });
    } catch (e) {
      return { kind: "offline" };
    }
    var body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    var status = response.status;
    var db_ = await db();
    if (status === 200 || status === 201) {
      await db_.delete("queue", entry.key);
      return { kind: "stored", status: status, body: body };
    }
    if (status === 409) {
      entry.state = "conflict";
      entry.conflict = body;
      await db_.put("queue", entry);
      return { kind: "conflict", status: status, body: body };
    }
    if (status === 400 || status === 404 || status === 413) {
      entry.state = "rejected";
      entry.errors = body || { detail: "服务器拒绝了这条记录。" };
      if (status === 404) entry.errors = { detail: (body && body.detail) || "未找到该厕所或轮次。" };
      if (status === 413) entry.errors = { detail: "照片太大，请删去几张后重试。" };
      await db_.put("queue", entry);
      return { kind: "rejected", status: status, body: entry.errors };
    }
    if (status === 401 || status === 403 || response.type === "opaqueredirect") {
      return { kind: "signed_out", status: status, body: body };
    }
    return { kind: "retry", status: status, body: body };
  }

  var running = null;

  /* Send every queued record of ``user``, one by one, oldest first. Stops at the first
   * "offline", "signed_out" or "retry"; resolves to {sent, results, stoppedBy}. */
  function syncAll(user, csrf, only) {
    if (running) return running;
    running = (async function () {
      var results = [];
      var stoppedBy = null;
      try {
        var rows = await all(user);
        for (var i = 0; i < rows.length; i++) {
          var entry = rows[i];
          if (entry.state !== "queued") continue;
          if (only && entry.key !== only) continue;
          var outcome = await send(entry, csrf);
          outcome.entry = entry;
          results.push(outcome);
          if (outcome.kind === "offline" || outcome.kind === "signed_out" || outcome.kind === "retry") {
            stoppedBy = outcome.kind;
            break;
          }
        }
      } finally {
        running = null;
      }
      return {
        sent: results.filter(function (r) { return r.kind === "stored"; }).length,
        results: results,
        stoppedBy: stoppedBy,
      };
    })();
    return running;
  }

  root.OfflineQueue = {
    db: db,
    newKey: newKey,
    put: put,
    all: all,
    forToilet: forToilet,
    remove: remove,
    send: send,
    syncAll: syncAll,
    setMeta: setMeta,
    getMeta: getMeta,
    saveWorklist: saveWorklist,
    worklist: worklist,
    clearWorklists: clearWorklists,
  };
})(typeof self !== "undefined" ? self : this);
