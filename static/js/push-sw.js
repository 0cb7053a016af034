// MySetlist's service worker: shows each web push as a notification; a click opens its page.
// Served from /notifications/sw.js with "Service-Worker-Allowed: /" so its scope is the site.
"use strict";

// A new version takes over at once instead of waiting for every tab to close.
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let data = {};
  if (event.data) {
    try {
      data = event.data.json();
    } catch (error) {
      data = { body: event.data.text() };
    }
  }
  const options = { body: data.body || "", data: { url: data.url || "/" } };
  if (data.tag) options.tag = data.tag;
  // userVisibleOnly: every push must show something, or the browser may revoke the permission.
  event.waitUntil(self.registration.showNotification(data.title || "MySetlist", options));
});

function sameOrigin(url) {
  // Only our own pages: a push must not become a way to open any site.
  try {
    const target = new URL(url, self.location.origin);
    return target.origin === self.location.origin ? target.href : self.location.origin + "/";
  } catch (error) {
    return self.location.origin + "/";
  }
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = sameOrigin((event.notification.data && event.notification.data.url) || "/");
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      const open = windows.find((client) => client.url === url && "focus" in client);
      return open ? open.focus() : self.clients.openWindow(url);
    })
  );
});
