/* Renoz field view service worker (served at /dashboard/sw.js, scope /dashboard/).
   Network first for the technician's job list and job pages; when the network fails, the
   last copy from the cache, which still carries its own "As of" time. The list puts every job
   page it shows in the same cache (static/js/field.js), so a job never opened before opens
   offline too. Everything else under
   /dashboard/ passes straight through. */
"use strict";
var CACHE = "renoz-field-v1";
var PAGES = /^\/dashboard\/(field\/|jobs\/\d+\/)$/;
// The assets the field pages load (the ask box's stylesheet too), with or without the manifest's content hash in the name.
var ASSETS = /^\/static\/(css\/(app|field|ask)|js\/field)(\.[0-9a-f]{12})?\.(css|js)$/;

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (!PAGES.test(url.pathname) && !ASSETS.test(url.pathname)) return;
  event.respondWith(
    fetch(request)
      .then(function (response) {
        if (response.ok && !response.redirected) {
          var copy = response.clone();
          caches.open(CACHE).then(function (cache) {
            cache.put(url.pathname, copy);
          });
        }
        return response;
      })
      .catch(function () {
        return caches.open(CACHE).then(function (cache) {
          return cache.match(url.pathname).then(function (hit) {
            return hit || Response.error();
          });
        });
      })
  );
});
