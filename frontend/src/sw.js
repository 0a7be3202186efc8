// Takeback's service worker: after one visit the app (and the hashing runtime) works offline.
// The build fills in its version and the list of every file; the API is never cached or touched.
// The HEIF decoder (ON_DEMAND: its worker, libheif.js, libheif.wasm) is not downloaded ahead:
// it is cached the first time a HEIF photo needs it, and works offline from then on.
const VERSION = "__VERSION__";
const CACHE = "takeback-" + VERSION;
const PRECACHE = [/*__PRECACHE__*/];
const ON_DEMAND = new Set([/*__ON_DEMAND__*/]);

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("takeback-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  if (request.mode === "navigate") {
    // The page itself: fresh when online, the cached copy when not.
    event.respondWith(
      fetch(request).then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put("/", copy));
        }
        return response;
      }).catch(() => caches.match("/", { cacheName: CACHE }).then((r) => r || Response.error())),
    );
    return;
  }
  // Versioned files: the cache first (they never change under the same name).
  event.respondWith(caches.match(request, { cacheName: CACHE }).then((hit) => hit || fetch(request).then((response) => {
    if (response.ok && ON_DEMAND.has(url.pathname)) {
      const copy = response.clone();
      event.waitUntil(caches.open(CACHE).then((cache) => cache.put(request, copy)));
    }
    return response;
  })));
});
