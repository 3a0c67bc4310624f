// Scheduled report form: show the weekday or month-day field only for the cadence that uses it.
(function () {
  "use strict";
  function sync() {
    var cadence = document.getElementById("id_cadence");
    if (!cadence) return;
    document.querySelectorAll("[data-show-for]").forEach(function (field) {
      field.hidden = field.getAttribute("data-show-for") !== cadence.value;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "id_cadence") sync();
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", sync);
  else sync();
})();
