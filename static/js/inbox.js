// The in-app inbox, live on every page of a logged-in user: the unread count in the header,
// and on the inbox page new notifications as they arrive. Reading and dismissing go through
// the API; the server then tells every open page the new count.
(function () {
  "use strict";
  const badge = document.querySelector("[data-inbox-count]");
  if (!badge) return;
  const list = document.getElementById("inbox");

  function setCount(unread) {
    badge.textContent = unread > 0 ? String(unread) : "";
    badge.hidden = unread === 0;
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function act(url, item) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/json" },
      body: "{}",
    });
    if (!response.ok) return;
    setCount((await response.json()).unread);
    return item;
  }

  // "7 Dec 2026, 14:05" in the reader's time zone: what the page writes as {{ created_at|date:"j M Y, H:i" }}.
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function when(iso) {
    const zone = (list && list.dataset.timeZone) || "UTC";
    let parts;
    try {
      parts = new Intl.DateTimeFormat("en-GB", {
        timeZone: zone, year: "numeric", month: "numeric", day: "numeric",
        hour: "2-digit", minute: "2-digit", hourCycle: "h23",
      }).formatToParts(new Date(iso));
    } catch (error) {
      return iso; // a zone this browser does not know
    }
    const part = Object.fromEntries(parts.map((p) => [p.type, p.value]));
    return `${Number(part.day)} ${MONTHS[Number(part.month) - 1]} ${part.year}, ${part.hour}:${part.minute}`;
  }

  function itemFor(n) {
    const li = document.createElement("li");
    li.className = "inbox-item unread";
    li.dataset.id = n.id;
    const link = document.createElement(n.url ? "a" : "span");
    if (n.url) link.href = n.url;
    link.textContent = n.text;
    const time = document.createElement("time");
    time.dateTime = n.created_at;
    time.textContent = when(n.created_at);
    li.append(link, " ", time, " ", buttons());
    return li;
  }

  function buttons() {
    const span = document.createElement("span");
    span.className = "inbox-actions";
    for (const [action, label] of [["read", "Mark read"], ["dismiss", "Dismiss"]]) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "small";
      b.dataset.action = action;
      b.textContent = label;
      span.append(b);
    }
    return span;
  }

  if (list) {
    list.addEventListener("click", async (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button) return;
      const item = button.closest("[data-id]");
      const done = await act("/api/notifications/" + item.dataset.id + "/" + button.dataset.action + "/", item);
      if (!done) return;
      if (button.dataset.action === "dismiss") item.remove();
      else item.classList.remove("unread");
    });
    const all = document.getElementById("inbox-read-all");
    if (all) {
      all.addEventListener("click", async () => {
        if (await act("/api/notifications/read-all/", list)) {
          list.querySelectorAll(".unread").forEach((li) => li.classList.remove("unread"));
        }
      });
    }
  }

  let retry = 0;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/ws/notifications/inbox/");
    socket.onopen = () => { retry = 0; };
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "inbox.count") setCount(message.unread);
      if (message.type === "inbox.notification") {
        setCount(Number(badge.textContent || 0) + 1);
        if (list) {
          const empty = document.getElementById("inbox-empty");
          if (empty) empty.remove();
          list.prepend(itemFor(message));
        }
      }
    };
    socket.onclose = (event) => {
      if (event.code === 4401) return; // logged out
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 500 * 2 ** retry);
    };
  }
  connect();
})();
