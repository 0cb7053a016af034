// Browser notifications on the preferences page: one button subscribes this browser to web
// push (service worker + PushManager) and tells the server, or unsubscribes it.
(function () {
  "use strict";
  const root = document.querySelector("[data-push-public-key]");
  if (!root) return;
  const toggle = document.querySelector("[data-push-toggle]");
  const status = document.querySelector("[data-push-status]");
  const publicKey = root.dataset.pushPublicKey;
  const workerUrl = root.dataset.pushSwUrl;
  const subscribeUrl = root.dataset.pushSubscribeUrl;

  function say(text) {
    if (status) status.textContent = text;
  }

  function show(subscribed) {
    if (!toggle) return;
    toggle.hidden = false;
    toggle.disabled = false;
    toggle.textContent = subscribed ? "Turn off for this browser" : "Turn on for this browser";
    toggle.setAttribute("aria-pressed", subscribed ? "true" : "false");
    say(subscribed ? "On: this browser shows MySetlist notifications." : "Off for this browser.");
  }

  if (!("serviceWorker" in navigator && "PushManager" in window && "Notification" in window)) {
    if (toggle) toggle.hidden = true;
    say("This browser cannot show notifications from MySetlist.");
    return;
  }

  function csrfToken() {
    const cookie = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
    if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function send(method, body) {
    return fetch(subscribeUrl, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    }).then((response) => {
      if (!response.ok) throw new Error("the server answered " + response.status);
    });
  }

  function keyBytes(base64url) {
    const base64 = (base64url + "===".slice((base64url.length + 3) % 4))
      .replace(/-/g, "+")
      .replace(/_/g, "/");
    return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  }

  const ourKey = keyBytes(publicKey);

  function madeWithOurKey(subscription) {
    const key = subscription.options && subscription.options.applicationServerKey;
    if (!key) return true; // the browser does not say: assume so
    const bytes = new Uint8Array(key);
    return bytes.length === ourKey.length && bytes.every((b, i) => b === ourKey[i]);
  }

  function saved(subscription) {
    const json = subscription.toJSON();
    const keys = { p256dh: json.keys.p256dh, auth: json.keys.auth };
    return send("POST", { endpoint: json.endpoint, keys: keys });
  }

  const ready = navigator.serviceWorker
    .register(workerUrl, { scope: "/" })
    .then(() => navigator.serviceWorker.ready);

  async function current() {
    const registration = await ready;
    let subscription = await registration.pushManager.getSubscription();
    if (subscription && !madeWithOurKey(subscription)) {
      // The site's keys changed: the old subscription can never be used again.
      await subscription.unsubscribe();
      subscription = null;
    }
    return subscription;
  }

  async function turnOn() {
    const registration = await ready;
    const subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: ourKey,
    });
    try {
      await saved(subscription);
    } catch (error) {
      // Not stored by the server: nothing would ever arrive, so do not look subscribed.
      await subscription.unsubscribe();
      throw error;
    }
  }

  async function turnOff(subscription) {
    const endpoint = subscription.endpoint;
    // The browser first: once it has let go, no push reaches it whatever the server keeps,
    // and the server drops a subscription its push service calls gone.
    await subscription.unsubscribe();
    await send("DELETE", { endpoint: endpoint }).catch(() => {});
  }

  async function refresh() {
    const subscription = await current();
    show(Boolean(subscription));
    if (subscription) {
      // Stored again in case the server lost it or another account used this browser last.
      await saved(subscription);
    }
  }

  if (toggle) {
    toggle.addEventListener("click", async () => {
      toggle.disabled = true;
      try {
        const subscription = await current();
        if (subscription) {
          await turnOff(subscription);
        } else if (Notification.permission === "denied") {
          say("Notifications are blocked for this site in the browser's settings.");
          toggle.disabled = false;
          return;
        } else {
          await turnOn();
        }
        show(!subscription);
      } catch (error) {
        toggle.disabled = false;
        say(
          Notification.permission === "denied"
            ? "Notifications are blocked for this site in the browser's settings."
            : "That did not work (" + error.message + "). Please try again."
        );
      }
    });
  }

  refresh().catch((error) => {
    if (toggle) {
      toggle.hidden = false;
      toggle.disabled = false;
    }
    say("Browser notifications are unavailable right now (" + error.message + ").");
  });
})();
