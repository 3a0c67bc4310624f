/* The field view and job page, with no libraries:
   - register the service worker that keeps the job list and job pages readable with no signal,
     and show an "Offline" badge while there is none;
   - when the list loads, put every job page it lists in the cache, so any of them opens offline;
   - with no signal, Start and Complete are queued in localStorage ("waiting to send") and sent
     when the phone is back online. Each action carries an idempotency key generated here, so a
     retry never starts or completes a job twice; an answer that the job moved meanwhile
     (cancelled or completed in the office) stays in the queue as a conflict, shown on the job
     page and its card until the technician dismisses it. docs/field.md has the whole path. */
(function () {
  "use strict";
  var CACHE = "renoz-field-v1";
  var QUEUE = "renoz-field-queue";
  var WORDS = { start: "Start", complete: "Completion" };

  function badge() {
    var offline = !navigator.onLine;
    document.querySelectorAll("[data-offline-badge]").forEach(function (el) {
      el.hidden = !offline;
    });
    document.documentElement.classList.toggle("is-offline", offline);
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) {
      return crypto.randomUUID();
    }
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  function readQueue() {
    try {
      return JSON.parse(localStorage.getItem(QUEUE) || "[]");
    } catch (e) {
      return [];
    }
  }

  function writeQueue(queue) {
    localStorage.setItem(QUEUE, JSON.stringify(queue));
    render();
  }

  function fields(form) {
    var data = {};
    new FormData(form).forEach(function (value, name) {
      data[name] = value;
    });
    return data;
  }

  function enqueue(form, kind, extra) {
    var data = fields(form);
    Object.keys(extra || {}).forEach(function (name) {
      data[name] = extra[name];
    });
    var queue = readQueue();
    // Tapping twice with no signal is still one action: the same key is queued once.
    if (!queue.some(function (item) { return item.data.idempotency_key === data.idempotency_key; })) {
      var heading = document.querySelector("h1");
      queue.push({
        job: form.dataset.job,
        kind: kind,
        url: form.action,
        page: window.location.pathname,
        title: heading ? heading.textContent.trim() : "Job " + form.dataset.job,
        data: data,
        state: "waiting",
      });
    }
    writeQueue(queue);
  }

  // --- What the technician sees of the queue, on the job page and on the list's cards. ---
  function note(item, index) {
    var p = document.createElement("p");
    var text = document.createElement("span");
    if (item.state === "conflict") {
      p.className = "notice notice-error queue-note";
      text.textContent = WORDS[item.kind] + " not sent: " + item.message;
      var dismiss = document.createElement("button");
      dismiss.type = "button";
      dismiss.className = "btn btn-sm";
      dismiss.textContent = "Dismiss";
      dismiss.addEventListener("click", function () {
        var queue = readQueue();
        queue.splice(index, 1);
        writeQueue(queue);
      });
      p.append(text, " ", dismiss);
    } else {
      p.className = "notice notice-waiting queue-note";
      p.setAttribute("data-waiting", item.kind);
      text.textContent = WORDS[item.kind] + " waiting to send. It is sent when you are back online.";
      p.append(text);
    }
    return p;
  }

  function render() {
    var queue = readQueue();
    var box = document.querySelector("[data-queue-notes]");
    var actions = document.querySelector("[data-job-actions]");
    if (box) {
      var job = box.getAttribute("data-queue-notes");
      box.replaceChildren();
      queue.forEach(function (item, index) {
        if (item.job === job) {
          box.append(note(item, index));
        }
      });
    }
    if (box && actions) {
      var waiting = queue.filter(function (item) { return item.job === job && item.state === "waiting"; });
      var started = waiting.some(function (item) { return item.kind === "start"; });
      var completed = waiting.some(function (item) { return item.kind === "complete"; });
      actions.querySelectorAll("form[data-queue=start]").forEach(function (form) {
        form.hidden = started || completed;
      });
      actions.querySelectorAll("form[data-queue=complete]").forEach(function (form) {
        if (completed) {
          form.hidden = true;
        } else if (started && form.hasAttribute("data-after-start")) {
          form.hidden = false;
        }
      });
    }
    // A job that left the list (cancelled in the office) keeps its conflict on the list too.
    var elsewhere = document.querySelector("[data-queue-elsewhere]");
    if (elsewhere) {
      elsewhere.replaceChildren();
      queue.forEach(function (item, index) {
        if (!document.querySelector('a.card[data-job="' + item.job + '"]')) {
          var link = document.createElement("a");
          link.href = item.page;
          link.textContent = item.title;
          var row = note(item, index);
          row.prepend(link, " · ");
          elsewhere.append(row);
        }
      });
    }
    document.querySelectorAll("a.card[data-job]").forEach(function (card) {
      var old = card.querySelector(".card-queue");
      if (old) {
        old.remove();
      }
      var mine = queue.filter(function (item) { return item.job === card.dataset.job; });
      if (!mine.length) {
        return;
      }
      var last = mine[mine.length - 1];
      var tag = document.createElement("span");
      tag.className = "card-queue card-queue-" + last.state;
      tag.textContent = last.state === "conflict"
        ? WORDS[last.kind] + " not sent: " + last.message
        : WORDS[last.kind] + " waiting to send";
      card.append(tag);
    });
  }

  // --- Sending: in order, one at a time, when there is a signal. ---
  var sending = false;

  function flush() {
    if (sending || !navigator.onLine) {
      return;
    }
    var queue = readQueue();
    var index = queue.findIndex(function (item) { return item.state === "waiting"; });
    if (index === -1) {
      return;
    }
    var item = queue[index];
    sending = true;
    fetch(item.url, {
      method: "POST",
      body: new URLSearchParams(item.data),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        if (!json) {
          // A login page or a server error: not an answer about the job; try again later.
          throw new Error("no answer");
        }
        return response.json().then(function (body) {
          var queue = readQueue();
          var at = queue.findIndex(function (other) {
            return other.data.idempotency_key === item.data.idempotency_key;
          });
          if (response.ok) {
            queue.splice(at, 1);
          } else if (at !== -1) {
            queue[at].state = "conflict";
            queue[at].message = body.error || "the server refused it (" + response.status + ")";
          }
          writeQueue(queue);
          sending = false;
          if (response.ok && !readQueue().some(function (other) { return other.state === "waiting"; })) {
            // Everything is sent: show the job as the office now sees it.
            if (document.querySelector("[data-field-page]")) {
              window.location.reload();
            }
            return;
          }
          flush();
        });
      })
      .catch(function () {
        sending = false;
      });
  }

  // --- Offline submits: queue instead of a browser error page. ---
  function showOfflineConfirm(form) {
    var kwh = form.querySelector("[name=kwh]");
    var hours = form.querySelector("[name=labor_hours]");
    var ok = true;
    [kwh, hours].forEach(function (input) {
      var bad = input.value === "" || !(Number(input.value) >= 0);
      input.setAttribute("aria-invalid", bad ? "true" : "false");
      ok = ok && !bad;
    });
    if (!ok) {
      (kwh.value === "" || !(Number(kwh.value) >= 0) ? kwh : hours).focus();
      return;
    }
    var box = form.querySelector("[data-offline-confirm]");
    box.querySelector("[data-confirm-kwh]").textContent = kwh.value;
    box.querySelector("[data-confirm-hours]").textContent = hours.value;
    box.hidden = false;
    box.querySelector("[data-confirm-yes]").focus();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-queue]") || navigator.onLine) {
      return;
    }
    event.preventDefault();
    var kind = form.dataset.queue;
    if (kind === "complete" && !form.querySelector("[name=confirm]")) {
      showOfflineConfirm(form);
      return;
    }
    enqueue(form, kind);
  });

  document.addEventListener("click", function (event) {
    var yes = event.target.closest && event.target.closest("[data-confirm-yes]");
    if (yes) {
      enqueue(yes.closest("form"), "complete", { confirm: "1" });
    }
  });

  // --- Keep every listed job page in the cache, so any of them opens with no signal. ---
  function precache() {
    var cards = document.querySelectorAll("a.card[data-job]");
    if (!cards.length || !window.caches || !navigator.onLine) {
      return;
    }
    var assets = [];
    document.querySelectorAll("link[rel=stylesheet][href^='/static/'], script[src^='/static/']").forEach(function (el) {
      assets.push(el.getAttribute("href") || el.getAttribute("src"));
    });
    caches.open(CACHE).then(function (cache) {
      // The list itself too: the worker may not have been in charge when it loaded.
      var urls = [window.location.pathname].concat(
        Array.prototype.map.call(cards, function (card) { return card.getAttribute("href"); })
      );
      return Promise.all(urls.concat(assets).map(function (url) {
        return fetch(url, { credentials: "same-origin" }).then(function (response) {
          if (response.ok && !response.redirected) {
            return cache.put(new URL(url, window.location.href).pathname, response);
          }
          return undefined;
        }).catch(function () { /* the next visit with a signal tries again */ });
      }));
    }).then(function () {
      document.documentElement.setAttribute("data-precached", "true");
    });
  }

  function ready() {
    badge();
    // The key the phone generates replaces the page's: a page read from the cache is shown
    // many times, and each of its actions needs its own key.
    document.querySelectorAll("form[data-queue] [data-action-key]").forEach(function (input) {
      if (!input.closest("form").querySelector("[name=confirm]")) {
        input.value = newKey();
      }
    });
    render();
    precache();
    flush();
  }

  window.addEventListener("online", function () {
    badge();
    flush();
  });
  window.addEventListener("offline", badge);
  window.addEventListener("storage", render);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/dashboard/sw.js", { scope: "/dashboard/" }).catch(function () {
      /* no offline copy without a service worker; the page still works online */
    });
  }
  // Logging out forgets the cached pages and any queued actions: they belong to this person.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form && form.action && form.action.indexOf("/accounts/logout") !== -1) {
      localStorage.removeItem(QUEUE);
      if (window.caches) {
        caches.delete(CACHE);
      }
    }
  });
})();
