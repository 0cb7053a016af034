// MySetlist's own analytics tracker. Pages are counted by the server; this adds what only
// the browser knows: clicks on elements marked data-track, Core Web Vitals (LCP, INP, CLS,
// TTFB), time on page and a session id. Events are batched and sent with sendBeacon.
// Nothing is sent when the browser asks not to be tracked or the visitor refused consent.
(function () {
  "use strict";
  const script = document.currentScript;
  const config = script ? script.dataset : {};
  if (!config.key) return;

  function cookie(name) {
    const found = document.cookie.split("; ").find((part) => part.startsWith(name + "="));
    return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
  }

  // Asked again before every capture and send: consent can be refused while a page is open.
  function allowed() {
    return navigator.doNotTrack !== "1" && window.doNotTrack !== "1"
      && cookie(config.consentCookie) !== "denied";
  }
  if (!allowed()) return;

  const endpoint = (config.endpoint || "/api/analytics/events") + "?key=" + encodeURIComponent(config.key);
  const SESSION_IDLE_MS = 30 * 60 * 1000;

  // 32 hex digits, the only form the server accepts as an anonymous id.
  function randomId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  let distinctId = cookie(config.distinctCookie);
  if (!distinctId || !/^[0-9a-f]{32}$/.test(distinctId)) {
    distinctId = randomId();
    document.cookie = config.distinctCookie + "=" + distinctId + "; path=/; max-age=31536000; samesite=lax"
      + (location.protocol === "https:" ? "; secure" : "");
  }

  // A session ends after 30 minutes without events; kept across tabs in localStorage.
  function sessionId() {
    const now = Date.now();
    let session = null;
    try {
      session = JSON.parse(localStorage.getItem("mysetlist_session") || "null");
    } catch (error) {
      session = null;
    }
    if (!session || now - session.last > SESSION_IDLE_MS) session = { id: randomId(), last: now };
    session.last = now;
    try {
      localStorage.setItem("mysetlist_session", JSON.stringify(session));
    } catch (error) {
      // Storage refused (private mode): the id lives for this page only.
    }
    return session.id;
  }

  const queue = [];
  function capture(event, properties) {
    if (!allowed()) return;
    queue.push({
      event: event,
      distinct_id: distinctId,
      message_id: randomId(),
      timestamp: new Date().toISOString(),
      properties: Object.assign({ $session_id: sessionId(), path: location.pathname }, properties),
      context: {
        page: { path: location.pathname, referrer: document.referrer, title: document.title },
        user_agent: navigator.userAgent,
        locale: navigator.language,
        timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
        device_type: matchMedia("(max-width: 768px)").matches ? "mobile" : "desktop",
        platform: "web",
      },
    });
    if (queue.length >= 20) flush();
  }

  function flush() {
    if (!allowed()) queue.length = 0;
    if (!queue.length) return;
    const body = JSON.stringify({ batch: queue.splice(0, queue.length), sent_at: new Date().toISOString() });
    // text/plain needs no CORS preflight; the endpoint reads the body as JSON whatever the type.
    const blob = new Blob([body], { type: "text/plain" });
    if (!(navigator.sendBeacon && navigator.sendBeacon(endpoint, blob))) {
      fetch(endpoint, { method: "POST", body: blob, keepalive: true, credentials: "omit" });
    }
  }
  setInterval(flush, 5000);

  document.addEventListener("click", function (event) {
    const element = event.target.closest("[data-track]");
    if (element) {
      capture("$click", { name: element.dataset.track, text: (element.textContent || "").trim().slice(0, 100) });
    }
  }, true);

  // Core Web Vitals, measured as the web-vitals library defines them.
  const vitals = { lcp: null, cls: 0, inp: null, ttfb: null };
  function observe(type, callback, options) {
    try {
      new PerformanceObserver((list) => list.getEntries().forEach(callback))
        .observe(Object.assign({ type: type, buffered: true }, options));
    } catch (error) {
      // This browser does not report that kind of entry.
    }
  }
  observe("largest-contentful-paint", (entry) => { vitals.lcp = entry.startTime; });
  // CLS: the largest burst of shifts not caused by input (gaps under 1 s, bursts under 5 s).
  let burst = 0, burstStart = 0, lastShift = 0;
  observe("layout-shift", (entry) => {
    if (entry.hadRecentInput) return;
    if (burst && entry.startTime - lastShift < 1000 && entry.startTime - burstStart < 5000) {
      burst += entry.value;
    } else {
      burst = entry.value;
      burstStart = entry.startTime;
    }
    lastShift = entry.startTime;
    vitals.cls = Math.max(vitals.cls, burst);
  });
  // INP: the slowest interaction (its longest event) on the page.
  observe("event", (entry) => {
    if (entry.interactionId) vitals.inp = Math.max(vitals.inp || 0, entry.duration);
  }, { durationThreshold: 16 });
  observe("first-input", (entry) => { vitals.inp = Math.max(vitals.inp || 0, entry.duration); });
  const navigation = performance.getEntriesByType("navigation")[0];
  if (navigation) vitals.ttfb = Math.max(0, navigation.responseStart - navigation.startTime);

  const shownAt = Date.now();
  let reported = false;
  function pageHidden() {
    if (!reported) {
      reported = true;
      capture("$web_vitals", vitals);
      capture("$pageleave", { duration_ms: Date.now() - shownAt });
    }
    flush();
  }
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") pageHidden(); });
  window.addEventListener("pagehide", pageHidden);

  window.mysetlist = { capture: capture, flush: flush };
})();
