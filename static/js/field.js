/* The field view: register the service worker that keeps the last job list and job pages
   readable with no signal, and show an "Offline" badge while there is none. No libraries. */
(function () {
  "use strict";
  function badge() {
    var offline = !navigator.onLine;
    document.querySelectorAll("[data-offline-badge]").forEach(function (el) {
      el.hidden = !offline;
    });
    document.documentElement.classList.toggle("is-offline", offline);
  }
  window.addEventListener("online", badge);
  window.addEventListener("offline", badge);
  document.addEventListener("DOMContentLoaded", badge);
  badge();

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/dashboard/sw.js", { scope: "/dashboard/" }).catch(function () {
      /* no offline copy without a service worker; the page still works online */
    });
    // Logging out forgets the cached pages: they belong to this person.
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (form && form.action && form.action.indexOf("/accounts/logout") !== -1 && window.caches) {
        caches.delete("renoz-field-v1");
      }
    });
  }
})();
