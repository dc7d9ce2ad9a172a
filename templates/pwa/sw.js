/* The service worker: keeps the app shell and the pages a surveyor has opened, so that the
 * worklist and the inspection form open without a connection, and sends queued inspections
 * when the connection returns (Background Sync where the browser has it).
 *
 * Served by portal.pwa at /sw.js (scope "/"); {{ version }} changes whenever one of the
 * shell files does, which installs a new worker and drops the old caches.
 */
"use strict";

var VERSION = "{{ version }}";
var SHELL_CACHE = "shell-" + VERSION;
var PAGE_CACHE = "pages-v1";
var SHELL = {{ shell_json|safe }};
var INSPECT_SHELL = "{{ inspect_shell_url }}";
var OFFLINE_PAGE = "{{ offline_url }}";
var INSPECT_PATH = /^\/surveys\/rounds\/\d+\/toilets\/\d+\/inspect\/$/;
// The surveyor's pages in the field: on one bar of signal a page may never finish, so after
// this long their cached copy is shown. Every other page waits for the network and falls back
// to its cached copy only when there is no connection at all (a county's table is never
// shown stale because the server was slow).
var FIELD_PATHS = [/^\/$/, /^\/surveys\/worklist\/$/, INSPECT_PATH, /^\/surveys\/offline\//, /^\/offline\/$/];
var NETWORK_TIMEOUT_MS = 6000;

importScripts({{ idb_url_json|safe }}, {{ queue_url_json|safe }});

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(SHELL_CACHE).then(function (cache) {
      return cache.addAll(SHELL).then(function () {
        // The two pages are signed-in pages: cached only if they really came (no redirect).
        return Promise.all([INSPECT_SHELL, OFFLINE_PAGE].map(function (url) {
          return fetch(url, { credentials: "same-origin" }).then(function (response) {
            if (response.ok && !response.redirected) return cache.put(url, response);
          }).catch(function () {});
        }));
      });
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.map(function (name) {
        if (name.indexOf("shell-") === 0 && name !== SHELL_CACHE) return caches.delete(name);
      }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "forget-pages") {
    // Signing out: the pages hold household data; the queue is kept (it is sent only by its user).
    event.waitUntil(caches.delete(PAGE_CACHE));
  } else if (data.type === "cache-pages" && Array.isArray(data.urls)) {
    event.waitUntil(caches.open(PAGE_CACHE).then(function (cache) {
      return Promise.all(data.urls.map(function (url) {
        return fetch(url, { credentials: "same-origin" }).then(function (response) {
          if (response.ok && !response.redirected) return cache.put(url, response);
        }).catch(function () {});
      }));
    }));
  }
});

function withTimeout(promise, ms) {
  return new Promise(function (resolve, reject) {
    var timer = setTimeout(function () { reject(new Error("timeout")); }, ms);
    promise.then(function (value) { clearTimeout(timer); resolve(value); },
                 function (error) { clearTimeout(timer); reject(error); });
  });
}

async function fromCache(request) {
  var url = new URL(request.url);
  var cached = await caches.match(request);
  if (cached) return cached;
  if (INSPECT_PATH.test(url.pathname)) {
    // A toilet whose form was never opened here: the form shell, filled in from the stored worklist.
    cached = await caches.match(INSPECT_SHELL);
    if (cached) return cached;
  }
  cached = await caches.match(request, { ignoreSearch: true });
  if (cached) return cached;
  return (await caches.match(OFFLINE_PAGE)) ||
    new Response("<meta charset=utf-8><p>当前没有网络，此页面没有保存在本机。</p>",
                 { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

async function page(event) {
  var request = event.request;
  var path = new URL(request.url).pathname;
  var field = FIELD_PATHS.some(function (pattern) { return pattern.test(path); });
  var network = fetch(request);
  try {
    var response = field ? await withTimeout(network, NETWORK_TIMEOUT_MS) : await network;
    // Pages only: a download (an export, a stamped sheet) goes by, never into the cache.
    var html = (response.headers.get("Content-Type") || "").indexOf("text/html") === 0;
    if (response.ok && !response.redirected && response.type === "basic" && html &&
        !response.headers.has("Content-Disposition")) {
      var copy = response.clone();
      event.waitUntil(caches.open(PAGE_CACHE).then(function (cache) { return cache.put(request, copy); }));
    }
    return response;
  } catch (e) {
    var cached = await fromCache(request);
    if (cached.status !== 503) return cached;
    try { return await network; } catch (e2) { return cached; }
  }
}

async function shellFile(request) {
  var cached = await caches.match(request);
  if (cached) return cached;
  var response = await fetch(request);
  if (response.ok) {
    var copy = response.clone();
    caches.open(SHELL_CACHE).then(function (cache) { cache.put(request, copy); });
  }
  return response;
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;  // saves go to the network (and to the queue when it fails)
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(shellFile(request));
  } else if (request.mode === "navigate" && url.pathname.indexOf("/admin/") !== 0 &&
             url.pathname.indexOf("/accounts/") !== 0) {
    event.respondWith(page(event));
  }
});

self.addEventListener("sync", function (event) {
  if (event.tag !== "inspections") return;
  event.waitUntil(
    self.OfflineQueue.getMeta("user").then(function (user) {
      if (user == null) return null;
      return self.OfflineQueue.getMeta("csrf").then(function (csrf) {
        return self.OfflineQueue.syncAll(user, csrf).then(function (result) {
          return self.clients.matchAll({ type: "window" }).then(function (clients) {
            clients.forEach(function (client) { client.postMessage({ type: "synced", sent: result.sent }); });
          });
        });
      });
    })
  );
});
