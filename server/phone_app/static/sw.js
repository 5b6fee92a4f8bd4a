// The phone app's service worker: caches the whole shell under its version, serves it
// offline, and drops older versions when a new one takes over. SHELL_VERSION, CACHE_PREFIX
// and SHELL_FILES are written above this line by the server (server/phone_app/shell.py).
const CACHE = CACHE_PREFIX + SHELL_VERSION;
const SCOPE = new URL("./", self.location).pathname;

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // "no-cache": each file checked with the server (by its ETag), so a new version never
      // caches an old file, yet what the page itself just fetched is not downloaded twice.
      await cache.addAll(SHELL_FILES.map((url) => new Request(url, { cache: "no-cache" })));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(CACHE_PREFIX) && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  // Only the app's own files: the API (/api/) and every other page go to the network as asked.
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!url.pathname.startsWith(SCOPE) || url.pathname === SCOPE + "sw.js") return;
  event.respondWith(answer(request, url));
});

async function answer(request, url) {
  const cache = await caches.open(CACHE);
  // Any address inside the app opens the app (its screens are chosen after the "#").
  const key = request.mode === "navigate" ? SCOPE : url.pathname;
  const cached = await cache.match(key, { ignoreSearch: true });
  if (cached) return cached;
  return fetch(request);
}
