/* Renoz dashboard behaviour on top of htmx: charts, tables, modal, refresh, layout drag and drop.
 *
 * The server renders everything, charts included: each chart's first paint is the server's SVG
 * of its figure (presentation/svg.py). plotly.js loads only when someone interacts with a chart
 * (hover, tap, focus) or, on a desktop, once the page is idle, and then takes over the chart
 * from the JSON the server embeds; on a phone (narrow or coarse pointer) nothing loads until a
 * chart is touched. This file also opens the drill-down modal, refreshes widgets every few
 * minutes while the tab is visible, and sends drag-and-drop reorders.
 * `document.body.dataset.settled` is set whenever every widget has loaded and the page has done
 * everything it does by itself (on a desktop, plotly has taken over every chart);
 * `window.dashboardChartsDrawnAt` is when every chart was first drawn (tests and timing read
 * them). See docs/architecture.md, "The dashboard page".
 */
(function () {
  "use strict";

  var pendingCharts = 0;
  var idleTakeover = false; // a desktop's plotly takeover is still to come
  var lastRefresh = Date.now();
  var DEFAULT_REFRESH_MS = 5 * 60 * 1000;

  function refreshMs() {
    var dash = document.getElementById("dashboard");
    var seconds = dash && parseInt(dash.dataset.refreshSeconds, 10);
    return seconds > 0 ? seconds * 1000 : DEFAULT_REFRESH_MS;
  }

  // --- Settled: every widget loaded and every chart drawn -----------------------------------

  function checkSettled() {
    if (
      pendingCharts > 0 ||
      idleTakeover ||
      document.querySelector(".widget-body[data-loading]")
    ) {
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

  // A phone: a narrow screen or a coarse pointer. No chart library loads until a chart is touched.
  function isPhone() {
    return window.matchMedia("(max-width: 640px), (pointer: coarse)").matches;
  }

  function whenPlotly(callback) {
    if (window.Plotly) {
      callback();
      return;
    }
    var script = document.getElementById("plotly-js");
    if (!script) {
      script = document.createElement("script");
      script.id = "plotly-js";
      script.src = document.getElementById("dashboard").dataset.plotlySrc;
      document.head.append(script);
    }
    script.addEventListener("load", callback, { once: true });
  }

  // Every chart is drawn once its SVG (or plotly) is in place: note when, once per page.
  function noteChartsDrawn() {
    if (window.dashboardChartsDrawnAt || document.querySelector(".widget-body[data-loading]")) {
      return;
    }
    window.requestAnimationFrame(function () {
      if (!window.dashboardChartsDrawnAt) {
        window.dashboardChartsDrawnAt = performance.now();
        document.dispatchEvent(new CustomEvent("dashboard:charts-drawn"));
      }
    });
  }

  function takeOverAll() {
    document.querySelectorAll("[data-figure]").forEach(drawChart);
  }

  // A desktop takes every chart over with plotly once the page is idle; a phone never does.
  function scheduleIdleTakeover() {
    if (isPhone() || !document.querySelector("[data-figure]:not([data-drawn])")) {
      return;
    }
    idleTakeover = true;
    var idle = window.requestIdleCallback || function (fn) { return setTimeout(fn, 200); };
    idle(function () {
      whenPlotly(function () {
        idleTakeover = false;
        takeOverAll();
        checkSettled();
      });
    }, { timeout: 3000 });
  }

  // Hover, tap or focus in a chart's widget: load plotly (if it is not there yet) and take that chart
  // over; on a desktop the others follow.
  function onChartInteraction(event) {
    var body = event.target.closest && event.target.closest(".widget-body");
    var el = body && body.querySelector("[data-figure]:not([data-drawn])");
    if (!el) {
      return;
    }
    drawChart(el);
    if (!isPhone()) {
      whenPlotly(takeOverAll);
    }
  }

  function drillUrl(point) {
    var data = point && point.customdata;
    return Array.isArray(data) ? data[0] : data;
  }

  // Touch screens: no drag, no zoom, fixed axes, so a swipe that starts on a chart scrolls the
  // page. Desktop gets the same fixed axes: a drag never zooms silently.
  function touchSafe(layout) {
    layout.dragmode = false;
    Object.keys(layout).forEach(function (key) {
      if (/^[xy]axis\d*$/.test(key)) {
        layout[key].fixedrange = true;
      }
    });
    return layout;
  }

  // --- Point popover: a tap or click shows what the point is, "See records" and, for a bar
  // of a filterable dimension, "Filter dashboard by this". ----------------------------------

  function closePopover() {
    var open = document.getElementById("point-popover");
    if (open) {
      open.remove();
    }
  }

  // The point a click means: this period's before the comparison's (traces are drawn in that
  // order), one with a value and records to open.
  function chosenPoint(points) {
    var list = (points || []).slice().sort(function (a, b) {
      return a.curveNumber - b.curveNumber;
    });
    var found = null;
    list.forEach(function (point) {
      if (!found && drillUrl(point) && point.y !== null && point.y !== undefined) {
        found = point;
      }
    });
    return found;
  }

  function showPopover(el, event) {
    var point = chosenPoint(event.points);
    if (!point) {
      return;
    }
    closePopover();
    var data = Array.isArray(point.customdata) ? point.customdata : [point.customdata, ""];
    var body = el.closest(".widget-body") || el.parentNode;
    var box = document.createElement("div");
    box.id = "point-popover";
    box.className = "point-popover";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", "Chart point");
    var title = document.createElement("p");
    title.className = "point-popover-title";
    var value = point.hovertext || point.text || "";
    var y = typeof point.y === "number" ? point.y : null;
    var label = data[1] || String(point.x);
    title.textContent = label;
    var amount = document.createElement("p");
    amount.className = "point-popover-value";
    if (y !== null && point.data && point.data.hovertemplate) {
      var so = typeof value === "string" && value.trim() === "so far" ? " so far" : "";
      amount.textContent = formatHover(point.data.hovertemplate, y) + so;
    }
    var see = document.createElement("button");
    see.type = "button";
    see.className = "btn btn-sm btn-primary";
    see.textContent = "See records";
    see.addEventListener("click", function () {
      closePopover();
      openDrill(data[0]);
    });
    var actions = document.createElement("div");
    actions.className = "point-popover-actions";
    actions.append(see);
    if (data[2]) {
      var filter = document.createElement("a");
      filter.className = "btn btn-sm";
      filter.href = data[2];
      filter.textContent = "Filter dashboard by this";
      filter.title = data[3] || "";
      filter.setAttribute("hx-get", data[2]);
      filter.setAttribute("hx-target", "#dashboard");
      filter.setAttribute("hx-swap", "outerHTML");
      filter.setAttribute("hx-push-url", "true");
      actions.append(filter);
    }
    var link = document.querySelector(".can-annotate") ? annotateLink(el) : null;
    var bucket = bucketOf(point);
    if (link && bucket) {
      var note = document.createElement("a");
      note.className = "btn btn-sm";
      note.href = annotateUrl(link, bucket.day, bucket.interval === "day" ? "" : lastDayOf(bucket));
      note.textContent = "Annotate";
      actions.append(note);
    }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn btn-sm btn-icon point-popover-close";
    close.setAttribute("aria-label", "Close");
    close.textContent = "×";
    close.addEventListener("click", closePopover);
    box.append(close, title, amount, actions);
    body.append(box);
    window.htmx.process(box);
    var rect = body.getBoundingClientRect();
    var source = event.event || {};
    var x = (source.clientX || rect.left + rect.width / 2) - rect.left;
    var yPos = (source.clientY || rect.top + rect.height / 2) - rect.top;
    var left = Math.max(8, Math.min(rect.width - box.offsetWidth - 8, x - box.offsetWidth / 2));
    box.style.left = left + "px";
    box.style.top = Math.max(8, yPos + 12) + "px";
    see.focus({ preventScroll: true });
  }

  // --- Annotations from a chart (docs/annotations.md, "Adding one from a chart"): the
  // Annotate control puts a chart in annotate mode; a click on a point opens the add form for
  // that day (or week, or month), a drag across points for that span. -----------------------

  function bucketOf(point) {
    var url = drillUrl(point) || "";
    var query = url.split("?")[1] || "";
    var params = new URLSearchParams(query);
    if (params.get("period") === "comparison" || !params.get("bucket")) {
      return null;
    }
    return { day: params.get("bucket"), interval: params.get("interval") || "day" };
  }

  function lastDayOf(bucket) {
    var d = new Date(bucket.day + "T00:00:00Z");
    if (bucket.interval === "week") {
      d.setUTCDate(d.getUTCDate() + 6);
    } else if (bucket.interval === "month") {
      d = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0));
    }
    return d.toISOString().slice(0, 10);
  }

  function annotateLink(el) {
    var widget = el.closest(".widget-body") || el.parentNode;
    return widget ? widget.querySelector("[data-annotate]") : null;
  }

  function annotateUrl(link, first, last) {
    var url = new URL(link.href, window.location.href);
    url.searchParams.set("starts_at", first);
    if (last && last !== first) {
      url.searchParams.set("ends_at", last);
    }
    return url.pathname + url.search;
  }

  function annotateFrom(el, points) {
    var link = annotateLink(el);
    var buckets = (points || []).map(bucketOf).filter(Boolean);
    if (!link || !buckets.length) {
      return;
    }
    buckets.sort(function (a, b) {
      return a.day < b.day ? -1 : a.day > b.day ? 1 : 0;
    });
    var first = buckets[0];
    var last = buckets[buckets.length - 1];
    var end = buckets.length > 1 || first.interval !== "day" ? lastDayOf(last) : "";
    window.location.assign(annotateUrl(link, first.day, end));
  }

  function toggleAnnotate(link) {
    var widget = link.closest(".widget-body") || document;
    var chart = widget.querySelector("[data-figure]");
    if (!chart) {
      return;
    }
    var on = !chart.classList.contains("chart-annotating");
    chart.classList.toggle("chart-annotating", on);
    link.setAttribute("aria-pressed", on ? "true" : "false");
    var hint = widget.querySelector(".chart-annotate-hint");
    if (on && !hint) {
      hint = document.createElement("p");
      hint.className = "chart-annotate-hint";
      hint.setAttribute("role", "status");
      hint.textContent = isPhone()
        ? "Tap a point to annotate that day."
        : "Click a point to annotate that day, or drag across points for a span. Esc to stop.";
      chart.after(hint);
    } else if (!on && hint) {
      hint.remove();
    }
    if (chart.dataset.drawn && window.Plotly) {
      window.Plotly.relayout(chart, on ? { dragmode: "select", selectdirection: "h" } : { dragmode: false });
    } else if (on) {
      drawChart(chart);
    }
  }

  // The value as the trace's tooltip writes it: "$%{y:,.0f}" → "$12,345".
  function formatHover(template, y) {
    var head = template.split("<extra>")[0];
    var match = head.match(/^([^%]*)%\{y(?::([^}]*))?\}(.*)$/);
    if (!match) {
      return "";
    }
    var spec = match[2] || "";
    var text;
    if (spec.indexOf("%") !== -1) {
      text = (y * 100).toFixed(1) + "%";
    } else {
      // ",.1f" keeps one decimal; ",.1~f" (kWh, hours) drops trailing zeros, as the cards do.
      var digits = /\.(\d)(~?)f/.exec(spec);
      text = y.toLocaleString("en-AU", {
        minimumFractionDigits: digits && !digits[2] ? Number(digits[1]) : 0,
        maximumFractionDigits: digits ? Number(digits[1]) : 2,
      });
    }
    return match[1] + text + match[3].replace(/\s*\(%\{[^}]*\}\)/g, "").replace(/%\{[^}]*\}/g, "");
  }

  // plotly takes over a chart drawn as SVG by the server: the same figure, now interactive.
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
      var hadFocus = el.contains(document.activeElement);
      el.replaceChildren();
      // The container now carries the text alternative; plotly's SVG layers are decorative.
      el.setAttribute("role", "img");
      el.setAttribute("aria-label", el.dataset.summary || "");
      window.Plotly.newPlot(el, figure.data, touchSafe(figure.layout), {
        responsive: true,
        displayModeBar: false,
        displaylogo: false,
        scrollZoom: false,
        doubleClick: false,
        showTips: false,
      }).then(function () {
        el.on("plotly_click", function (event) {
          if (el.classList.contains("chart-annotating")) {
            annotateFrom(el, event.points);
            return;
          }
          showPopover(el, event);
        });
        // Annotate mode: a drag across days selects a span (docs/annotations.md).
        el.on("plotly_selected", function (event) {
          if (el.classList.contains("chart-annotating") && event && event.points) {
            annotateFrom(el, event.points);
          }
        });
        if (el.classList.contains("chart-annotating")) {
          window.Plotly.relayout(el, { dragmode: "select", selectdirection: "h" });
        }
        el.querySelectorAll("svg").forEach(function (svg) {
          svg.setAttribute("aria-hidden", "true");
        });
        if (hadFocus) {
          el.focus({ preventScroll: true });
        }
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

  // The drill-down is in browser history: opening one pushes its URL (a reload shows it as a
  // page), Back closes it and leaves the dashboard as it was.
  var closingDrill = false;
  var pendingPush = null;

  function openDrill(url, fromHistory) {
    // Tricky: pushed once the modal has its content, so the request still comes from the
    // dashboard's URL (the drill view renders a modal, not its own page, for that).
    pendingPush = fromHistory ? null : url;
    window.htmx.ajax("GET", url, { target: "#modal", swap: "innerHTML" });
  }

  function onPopState(event) {
    var box = dialog();
    var state = event.state || {};
    if (state.renozDrill && box) {
      event.stopImmediatePropagation();
      openDrill(state.renozDrill, true);
      return;
    }
    if (box && (box.open || closingDrill)) {
      // Tricky: htmx would re-fetch the whole page for this entry; the dashboard under the
      // modal is already the one it describes.
      event.stopImmediatePropagation();
      closingDrill = false;
      if (box.open) {
        box.close();
      }
    }
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
    } else if (el.id === "f-compare" || el.hasAttribute("data-autosubmit")) {
      el.form.requestSubmit();
    } else if (el.id === "f-from") {
      document.getElementById("f-to").min = el.value || "2000-01-01";
    }
  }

  // --- Phone: the period controls fold into a chip --------------------------------------------

  function foldControls(scope) {
    var fold = scope.querySelector ? scope.querySelector("#controls-fold") : null;
    if (fold && window.matchMedia("(max-width: 640px)").matches) {
      fold.open = false;
    }
  }

  // --- Wiring ------------------------------------------------------------------------------

  function init() {
    var htmx = window.htmx;

    htmx.onLoad(function (root) {
      var scope = root.querySelectorAll ? root : document;
      foldControls(scope);
      // A chart swapped in later (refresh, filter, layout edit) takes over at once once plotly
      // is here on a desktop; otherwise it stays the server's SVG until someone touches it.
      if (window.Plotly && !isPhone()) {
        if (scope.matches && scope.matches("[data-figure]")) {
          drawChart(scope);
        }
        scope.querySelectorAll("[data-figure]").forEach(drawChart);
      } else {
        scheduleIdleTakeover();
      }
      noteChartsDrawn();
      checkSettled();
    });

    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("[data-annotate]");
      if (link) {
        event.preventDefault();
        toggleAnnotate(link);
      }
    });

    ["pointerover", "pointerdown", "focusin"].forEach(function (name) {
      document.addEventListener(name, onChartInteraction, { passive: true });
    });

    document.body.addEventListener("htmx:beforeRequest", function (event) {
      var elt = event.detail.elt;
      if (elt && elt.id === "controls") {
        unsettle();
      }
    });

    // A select submits the period form as soon as it changes; pressing Apply a moment later
    // asks for the very same page. That second request is dropped rather than let hx-sync
    // ("this:replace") abort the first; a request for different values still replaces it.
    var controlsInFlight = null;
    document.body.addEventListener("htmx:confirm", function (event) {
      var form = event.detail.elt;
      if (!form || form.id !== "controls") return;
      var query = new URLSearchParams(new FormData(form)).toString();
      if (controlsInFlight === query) {
        event.preventDefault();
        return;
      }
      controlsInFlight = query;
    });
    document.body.addEventListener("htmx:afterRequest", function (event) {
      if (event.detail.elt && event.detail.elt.id === "controls") {
        controlsInFlight = null;
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
        if (pendingPush) {
          if (!(history.state && history.state.renozDrill)) {
            history.pushState({ renozDrill: pendingPush }, "", pendingPush);
          }
          pendingPush = null;
        }
      }
    });

    ["htmx:responseError", "htmx:sendError", "htmx:timeout"].forEach(function (name) {
      document.body.addEventListener(name, function (event) {
        showWidgetError(event.detail.elt);
      });
    });

    // Links into the modal (cards, table rows): opened through openDrill so they are in
    // history. Capture phase, so htmx's own handler on the link never sees the click.
    document.addEventListener(
      "click",
      function (event) {
        var link = event.target.closest && event.target.closest("a[hx-target='#modal']");
        if (link && !event.ctrlKey && !event.metaKey && !event.shiftKey && event.button === 0) {
          event.preventDefault();
          event.stopPropagation();
          openDrill(link.getAttribute("href"));
        }
      },
      true
    );

    document.addEventListener("click", function (event) {
      var popover = document.getElementById("point-popover");
      if (popover && !popover.contains(event.target) && !event.target.closest(".js-plotly-plot")) {
        closePopover();
      }
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
        if (history.state && history.state.renozDrill) {
          closingDrill = true;
          history.back();
        }
      });
    }

    window.addEventListener("popstate", onPopState, true);
    document.addEventListener("keydown", function (event) {
      var control = event.target.closest && event.target.closest("[data-annotate]");
      if (control && event.key === " ") {
        event.preventDefault(); // a button's key: Space presses it, as Enter does
        toggleAnnotate(control);
        return;
      }
      if (event.key === "Escape") {
        document.querySelectorAll("[data-annotate][aria-pressed='true']").forEach(toggleAnnotate);
        closePopover();
      }
    });
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
