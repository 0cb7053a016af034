// Live ballot of one show: counts pushed over a websocket, votes cast through the API,
// songs filtered in the page. Without this script the ballot still works: its buttons post
// the vote form and its filter form asks the server.
(function () {
  "use strict";
  const ballot = document.getElementById("ballot");
  if (!ballot) return;
  const showId = ballot.dataset.showId;
  const live = document.getElementById("live");
  const presence = document.querySelector("[data-presence]");
  const statusPill = document.getElementById("show-status");
  const tools = document.getElementById("ballot-tools");
  const filterText = document.getElementById("song-filter");
  const resort = document.getElementById("ballot-resort");
  const countLine = document.getElementById("ballot-count");
  const emptyLine = document.getElementById("ballot-empty");
  const total = ballot.children.length;
  // Rendered from a server-side filter: the page lacks songs, so filters go to the server.
  const partial = ballot.dataset.filtered === "true";

  // Used when a status frame carries no label (older servers).
  const STATUS_LABELS = {
    announced: "Announced",
    voting_open: "Voting open",
    locked: "Locked",
    completed: "Completed",
  };

  function row(songId) {
    return ballot.querySelector('li[data-song-id="' + songId + '"]');
  }

  function number(line, name) {
    return Number(line.querySelector("." + name).textContent);
  }

  // The order the server sorts by: best score, then most up-votes, most played, title.
  function compare(a, b) {
    return (
      number(b, "score .n") - number(a, "score .n") ||
      number(b, "up") - number(a, "up") ||
      Number(b.dataset.played) - Number(a.dataset.played) ||
      byCodePoint(a.querySelector(".title").textContent, b.querySelector(".title").textContent)
    );
  }

  // Titles compare as the server compares them (code point by code point), not by locale:
  // otherwise "Ångström" sorts apart and a sorted ballot looks out of order.
  function byCodePoint(a, b) {
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function isSorted() {
    const lines = Array.from(ballot.children);
    return lines.every((line, i) => i === 0 || compare(lines[i - 1], line) <= 0);
  }

  // Counts change in place; rows never move while live, so nothing under a thumb jumps.
  // The fan re-sorts when they choose to.
  function applyTally(t) {
    const line = row(t.song_id);
    if (!line || Number(t.version) < Number(line.dataset.version)) return; // stale, out of order
    line.dataset.version = t.version;
    line.querySelector(".up").textContent = t.upvotes;
    line.querySelector(".down").textContent = t.downvotes;
    line.querySelector(".score .n").textContent = t.score;
    line.classList.remove("flash");
    void line.offsetWidth; // restart the animation
    line.classList.add("flash");
    if (resort) resort.disabled = isSorted();
  }

  function applyMyVote(songId, value) {
    const line = row(songId);
    if (!line) return;
    line.dataset.myVote = value;
    line.querySelectorAll("button[data-value]").forEach((button) => {
      const chosen = Number(button.dataset.value) === value;
      button.classList.toggle("chosen", chosen);
      button.setAttribute("aria-pressed", chosen ? "true" : "false");
      button.value = chosen ? "0" : button.dataset.value; // what the form would post next
    });
  }

  function setVotingOpen(open) {
    ballot.dataset.votingOpen = open ? "true" : "false";
    ballot.querySelectorAll("button[data-value]").forEach((b) => { b.disabled = !open; });
  }

  const help = document.querySelector(".ballot-help");
  const HELP = {
    locked: "Voting is closed: these are the final counts.",
  };

  // A show that ends while its page is open: a link to the same address, which now serves
  // the setlist as played beside the fans' votes (a page never reloads by itself).
  function showOver() {
    help.textContent = "The show is over. ";
    const link = document.createElement("a");
    link.href = location.pathname;
    link.id = "show-over";
    link.textContent = "See the setlist and how the votes did";
    help.appendChild(link);
  }

  function setStatus(status, label) {
    if (help && status === "completed") showOver();
    else if (help && HELP[status]) help.textContent = HELP[status];
    else if (help && status === "voting_open" && ballot.dataset.canVote === "true") {
      help.textContent = "Voting is open: vote ▲ for the songs you want to hear, ▼ for those you don't.";
    }
    if (!statusPill) return;
    statusPill.textContent = label || STATUS_LABELS[status] || status.replace(/_/g, " ");
    statusPill.className = "status status-" + status;
    statusPill.dataset.status = status;
  }

  function showError(message) {
    let box = document.querySelector(".messages");
    if (!box) {
      box = document.createElement("ul");
      box.className = "messages";
      document.querySelector("main").prepend(box);
    }
    const item = document.createElement("li");
    item.className = "error";
    item.setAttribute("role", "alert");
    item.textContent = message;
    box.replaceChildren(item);
  }

  // Filtering: case and accents ignored, as the server does it.
  function folded(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function applyFilter() {
    const needle = folded(filterText.value.trim());
    const only = (tools.querySelector("input[name=only]:checked") || {}).value || "";
    let shown = 0;
    Array.from(ballot.children).forEach((line) => {
      let keep = folded(line.querySelector(".title").textContent).includes(needle);
      if (only === "mine") keep = keep && Number(line.dataset.myVote) !== 0;
      if (only === "unplayed") keep = keep && Number(line.dataset.played) === 0;
      line.hidden = !keep;
      if (keep) shown += 1;
    });
    countLine.textContent =
      shown === total ? total + (total === 1 ? " song" : " songs") : shown + " of " + total + " songs";
    emptyLine.hidden = shown > 0;
  }

  if (tools && !partial) {
    tools.classList.add("live-filter"); // the Filter button is not needed
    tools.addEventListener("submit", (event) => { event.preventDefault(); applyFilter(); });
    tools.addEventListener("input", applyFilter);
    tools.addEventListener("change", applyFilter);
    applyFilter();
  } else if (tools) {
    tools.addEventListener("change", (event) => {
      if (event.target.name === "only") tools.requestSubmit();
    });
  }

  if (resort) {
    resort.hidden = false;
    resort.addEventListener("click", () => {
      Array.from(ballot.children).sort(compare).forEach((line) => ballot.appendChild(line));
      resort.disabled = true;
    });
  }

  async function refresh() {
    const response = await fetch("/api/shows/" + showId + "/ballot/", { credentials: "same-origin" });
    if (!response.ok) return;
    (await response.json()).forEach((line) => applyTally(line));
  }

  function onFrame(message) {
    if (message.show_id !== undefined && String(message.show_id) !== String(showId)) return;
    if (message.type === "tallies") (message.tallies || []).forEach(applyTally);
    else if (message.type === "votes.changed") applyTally(message);
    else if (message.type === "presence" && presence) {
      const n = Number(message.count);
      presence.textContent = n + (n === 1 ? " fan here now" : " fans here now");
      presence.hidden = false;
    } else if (message.type === "show.status") {
      setStatus(message.status, message.label);
      setVotingOpen(message.status === "voting_open");
    }
  }

  let retry = 0;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/ws/shows/" + showId + "/");
    socket.onopen = function () {
      if (retry > 0) refresh(); // catch up on what was missed while away
      retry = 0;
      if (live) live.hidden = false;
      document.body.dataset.live = "true";
    };
    socket.onmessage = function (event) {
      onFrame(JSON.parse(event.data));
    };
    socket.onclose = function () {
      if (live) live.hidden = true;
      document.body.dataset.live = "false";
      retry += 1;
      setTimeout(connect, Math.min(30000, 500 * 2 ** Math.min(retry, 6)));
    };
  }
  connect();

  ballot.addEventListener("click", async function (event) {
    const button = event.target.closest("button[data-value]");
    if (!button) return;
    event.preventDefault();
    const form = button.form;
    const songId = Number(form.elements.song.value);
    const value = Number(button.dataset.value);
    const csrf = form.elements.csrfmiddlewaretoken.value;
    const line = row(songId);
    const withdraw = Number(line.dataset.myVote) === value;
    const response = withdraw
      ? await fetch("/api/votes/" + showId + "/" + songId + "/", {
          method: "DELETE", credentials: "same-origin", headers: { "X-CSRFToken": csrf },
        })
      : await fetch("/api/votes/cast/", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
          body: JSON.stringify({ show: Number(showId), song: songId, value: value }),
        });
    if (response.status === 204) {
      applyMyVote(songId, 0);
      refresh();
    } else if (response.ok) {
      const body = await response.json();
      applyMyVote(songId, value);
      applyTally(Object.assign({ song_id: songId }, body.tally));
    } else {
      const body = await response.json().catch(() => ({ message: "Your vote could not be saved." }));
      showError(body.message);
    }
  });
})();
