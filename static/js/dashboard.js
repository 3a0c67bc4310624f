/* Renoz dashboard behaviour on top of htmx: charts, tables, modal, refresh, layout drag and drop.
 *
 * The server renders everything; this file only draws plotly figures from the JSON the server
 * embeds, opens the drill-down modal, refreshes widgets every few minutes while the tab is
 * visible, and sends drag-and-drop reorders. `document.body.dataset.settled` is set whenever
 * every widget has loaded and every chart has drawn (tests and timing read it).
 */
(function () {
  "use strict";

  var pendingCharts = 0;
  var lastRefresh = Date.now();
  var DEFAULT_REFRESH_MS = 5 * 60 * 1000;

  function refreshMs() {
    var dash = document.getElementById("dashboard");
    var seconds = dash && parseInt(dash.dataset.refreshSeconds, 10);
    return seconds > 0 ? seconds * 1000 : DEFAULT_REFRESH_MS;
  }

  // --- Settled: every widget loaded and every chart drawn -----------------------------------

  function checkSettled() {
    if (pendingCharts > 0 || document.querySelector(".widget-body[data-loading]")) {
      return;
    }
    if (document.body.dataset.settled) {
      return;
    }
    var now = performance.now();
    document.body.dataset.settled = "1";
    if (!window.dashboardSettledAt) {
      window.dashboardSettledAt = now;
    }
    updateAsOf();
    document.dispatchEvent(new CustomEvent("dashboard:settled", { detail: { ms: now } }));
  }

  function unsettle() {
    delete document.body.dataset.settled;
  }

  // --- Charts ----------------------------------------------------------------------------

  function whenPlotly(callback) {
    if (window.Plotly) {
      callback();
      return;
    }
    var script = document.getElementById("plotly-js");
    if (!script) {
      // Pages without charts do not load plotly.js; a chart added later loads it then.
      script = document.createElement("script");
      script.id = "plotly-js";
      script.src = document.getElementById("dashboard").dataset.plotlySrc;
      document.head.append(script);
    }
    script.addEventListener("load", callback, { once: true });
  }

  function drillUrl(point) {
    var data = point && point.customdata;
    return Array.isArray(data) ? data[0] : data;
  }

  function drawChart(el) {
    var source = document.getElementById(el.dataset.figure);
    if (!source || el.dataset.drawn) {
      return;
    }
    el.dataset.drawn = "1";
    var figure = JSON.parse(source.textContent);
    pendingCharts += 1;
    unsettle();
    whenPlotly(function () {
      var done = function () {
        pendingCharts -= 1;
        checkSettled();
      };
      if (!el.isConnected) {
        done();
        return;
      }
      window.Plotly.newPlot(el, figure.data, figure.layout, {
        responsive: true,
        displayModeBar: false,
        displaylogo: false,
        scrollZoom: false,
      }).then(function () {
        el.on("plotly_click", function (event) {
          var url = drillUrl(event.points && event.points[0]);
          if (url) {
            openDrill(url);
          }
        });
        // Plotly's SVG layers are decorative: the container carries the text alternative.
        el.querySelectorAll("svg").forEach(function (svg) {
          svg.setAttribute("aria-hidden", "true");
        });
      }).then(done, done);
    });
  }

  function purgeCharts(root) {
    if (!window.Plotly || !root || !root.querySelectorAll) {
      return;
    }
    root.querySelectorAll(".js-plotly-plot").forEach(function (plot) {
      window.Plotly.purge(plot);
    });
  }

  // --- Drill-down modal ----------------------------------------------------------------------

  function openDrill(url) {
    window.htmx.ajax("GET", url, { target: "#modal", swap: "innerHTML" });
  }

  function dialog() {
    return document.getElementById("modal-dialog");
  }

  // --- "Data as of": the oldest time any loaded widget was computed --------------------------

  function updateAsOf() {
    var target = document.getElementById("as-of-time");
    var dash = document.getElementById("dashboard");
    if (!target || !dash) {
      return;
    }
    var oldest = null;
    document.querySelectorAll("[data-as-of]").forEach(function (el) {
      var at = new Date(el.dataset.asOf);
      if (!isNaN(at) && (oldest === null || at < oldest)) {
        oldest = at;
      }
    });
    if (oldest === null) {
      return;
    }
    var text = new Intl.DateTimeFormat("en-AU", {
      timeZone: dash.dataset.tz,
      hour: "numeric",
      minute: "2-digit",
      timeZoneName: "short",
    }).format(oldest);
    target.textContent = text;
    target.setAttribute("datetime", oldest.toISOString());
  }

  // --- Widget error state when the request itself fails --------------------------------------

  function showWidgetError(elt) {
    var body = elt && elt.closest && elt.closest(".widget-body");
    if (!body || !body.hasAttribute("data-loading")) {
      return;
    }
    body.removeAttribute("data-loading");
    body.removeAttribute("aria-busy");
    body.querySelectorAll(".skel-block, .skel, .sr-only").forEach(function (node) {
      node.remove();
    });
    var box = document.createElement("div");
    box.className = "state state-error";
    box.setAttribute("role", "alert");
    var text = document.createElement("p");
    text.textContent = "This widget could not be loaded.";
    var retry = document.createElement("button");
    retry.type = "button";
    retry.className = "btn";
    retry.textContent = "Retry";
    retry.addEventListener("click", function () {
      body.setAttribute("data-loading", "");
      box.remove();
      window.htmx.ajax("GET", body.getAttribute("hx-get"), { source: body, target: body, swap: "outerHTML" });
    });
    box.append(text, retry);
    body.append(box);
    checkSettled();
  }

  // --- Auto refresh, paused while the tab is hidden ------------------------------------------

  function refreshAll() {
    lastRefresh = Date.now();
    window.htmx.trigger(document.body, "dashboard:refresh");
  }

  function maybeRefresh() {
    if (!document.hidden && Date.now() - lastRefresh >= refreshMs()) {
      refreshAll();
    }
  }

  // --- Drag and drop reordering (edit mode); the arrow buttons do the same by keyboard --------

  var dragged = null;
  var orderBefore = "";

  function currentOrder(grid) {
    return Array.prototype.map.call(grid.querySelectorAll(":scope > .widget"), function (w) {
      return w.dataset.widgetId;
    }).join(",");
  }

  function onDragStart(event) {
    var widget = event.target.closest && event.target.closest(".is-editing > .widget");
    if (!widget) {
      return;
    }
    dragged = widget;
    orderBefore = currentOrder(widget.parentNode);
    widget.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", widget.dataset.widgetId);
  }

  function onDragOver(event) {
    if (!dragged) {
      return;
    }
    var over = event.target.closest && event.target.closest(".is-editing > .widget");
    event.preventDefault();
    if (!over || over === dragged) {
      return;
    }
    var grid = over.parentNode;
    var rect = over.getBoundingClientRect();
    var wide = rect.width > grid.getBoundingClientRect().width * 0.7;
    var after = wide
      ? event.clientY > rect.top + rect.height / 2
      : event.clientX > rect.left + rect.width / 2;
    grid.insertBefore(dragged, after ? over.nextSibling : over);
  }

  function onDragEnd() {
    if (!dragged) {
      return;
    }
    var grid = dragged.parentNode;
    dragged.classList.remove("is-dragging");
    dragged = null;
    var order = currentOrder(grid);
    if (order !== orderBefore) {
      window.htmx.ajax("POST", grid.dataset.reorderUrl, {
        source: grid,
        target: "#layout-status",
        swap: "none",
        values: { order: order },
      });
      grid.querySelectorAll(":scope > .widget").forEach(function (w, i, all) {
        var up = w.querySelector("[id^='up-']");
        var down = w.querySelector("[id^='down-']");
        if (up) up.disabled = i === 0;
        if (down) down.disabled = i === all.length - 1;
      });
    }
  }

  // --- Period controls -----------------------------------------------------------------------

  function onChange(event) {
    var el = event.target;
    if (el.id === "f-range") {
      var custom = el.value === "custom";
      var group = document.getElementById("f-custom");
      if (custom) {
        group.removeAttribute("data-off");
        document.getElementById("f-from").required = true;
        document.getElementById("f-to").required = true;
        document.getElementById("f-from").focus();
      } else {
        group.setAttribute("data-off", "");
        el.form.requestSubmit();
      }
    } else if (el.id === "f-compare") {
      el.form.requestSubmit();
    } else if (el.id === "f-from") {
      document.getElementById("f-to").min = el.value || "2000-01-01";
    }
  }

  // --- Wiring ------------------------------------------------------------------------------

  function init() {
    var htmx = window.htmx;

    htmx.onLoad(function (root) {
      var scope = root.querySelectorAll ? root : document;
      if (scope.matches && scope.matches("[data-figure]")) {
        drawChart(scope);
      }
      scope.querySelectorAll("[data-figure]").forEach(drawChart);
      checkSettled();
    });

    document.body.addEventListener("htmx:beforeRequest", function (event) {
      var elt = event.detail.elt;
      if (elt && elt.id === "controls") {
        unsettle();
      }
    });

    // Back/Forward: htmx keeps no snapshots (historyCacheSize 0) and asks the server again.
    document.body.addEventListener("htmx:historyCacheMiss", function () {
      unsettle();
      purgeCharts(document.getElementById("main"));
    });

    // The feed polls every 60 s, but not while the tab is hidden. (This lives here rather than
    // in an hx-trigger filter, which htmx would have to eval: the CSP forbids eval.)
    document.body.addEventListener("htmx:beforeRequest", function (event) {
      var elt = event.detail.elt;
      if (document.hidden && elt && elt.classList && elt.classList.contains("feed-poll")) {
        event.preventDefault();
      }
    });

    document.body.addEventListener("htmx:beforeSwap", function (event) {
      if (event.detail.shouldSwap) {
        purgeCharts(event.detail.target);
      }
    });

    document.body.addEventListener("htmx:afterSettle", function () {
      checkSettled();
    });

    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target && event.detail.target.id === "modal") {
        var box = dialog();
        if (box && !box.open) {
          box.showModal();
        }
      }
    });

    ["htmx:responseError", "htmx:sendError", "htmx:timeout"].forEach(function (name) {
      document.body.addEventListener(name, function (event) {
        showWidgetError(event.detail.elt);
      });
    });

    document.addEventListener("click", function (event) {
      var toggle = event.target.closest("[data-toggle-table]");
      if (toggle) {
        var body = toggle.closest(".widget-body");
        var showTable = toggle.getAttribute("aria-pressed") !== "true";
        toggle.setAttribute("aria-pressed", String(showTable));
        body.querySelector(".chart-table").hidden = !showTable;
        var chart = body.querySelector(".chart");
        chart.hidden = showTable;
        if (!showTable && window.Plotly && chart.classList.contains("js-plotly-plot")) {
          window.Plotly.Plots.resize(chart);
        }
      }
      if (event.target.closest("[data-close-modal]")) {
        dialog().close();
      }
    });

    var box = dialog();
    if (box) {
      box.addEventListener("close", function () {
        document.getElementById("modal").replaceChildren();
      });
    }

    document.addEventListener("change", onChange);
    document.addEventListener("dragstart", onDragStart);
    document.addEventListener("dragover", onDragOver);
    document.addEventListener("drop", function (event) {
      if (dragged) {
        event.preventDefault();
      }
    });
    document.addEventListener("dragend", onDragEnd);

    setInterval(maybeRefresh, 15000);
    document.addEventListener("visibilitychange", maybeRefresh);

    window.dashboard = { refresh: refreshAll, checkSettled: checkSettled };
  }

  if (window.htmx) {
    init();
  } else {
    document.addEventListener("DOMContentLoaded", init);
  }
})();
