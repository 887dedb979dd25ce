// ripcord dashboard: local times and live updates. Hand-written, no build
// step; every page works without it (times read in UTC, reload for news).
"use strict";
(function () {
  // Times: show the viewer's zone, keep UTC in the title (hover).
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) { t.textContent = d.toLocaleString(); }
    });
  }
  localTimes(document);

  var live = document.getElementById("live");
  if (!live || !window.EventSource) { return; }
  function say(state, text) { live.dataset.state = state; live.textContent = text; }

  // Re-read this page and swap each data-live section, leaving forms (a
  // note half typed, an open confirmation) alone.
  var busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { credentials: "same-origin", headers: { "X-Ripcord-Live": "1" } })
      .then(function (r) {
        if (r.redirected && /\/login/.test(r.url)) { location.href = r.url; return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (!html) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (el) {
          var fresh = doc.querySelector('[data-live="' + el.dataset.live + '"]');
          if (fresh && fresh.innerHTML !== el.innerHTML) {
            el.innerHTML = fresh.innerHTML;
            localTimes(el);
          }
        });
        document.body.dataset.refreshed = String(Date.now());
      })
      .catch(function () {})
      .then(function () { busy = false; if (again) { again = false; refresh(); } });
  }

  var lost = false;
  function connect() {
    var es = new EventSource("/events");
    es.addEventListener("hello", function () {
      say("on", "Live");
      if (lost) { lost = false; refresh(); } // back after a restart: catch up
    });
    es.addEventListener("change", function () { refresh(); });
    es.onerror = function () {
      lost = true;
      say("lost", "Reconnecting…");
      // The browser retries a dropped stream by itself, but gives up on an
      // answer that is not a stream (a 401 after the session expired):
      // then start again, and let refresh() find the sign-in page.
      if (es.readyState === EventSource.CLOSED) { setTimeout(function () { refresh(); connect(); }, 2000); }
    };
  }
  connect();
})();
