// Live ballot of one show: counts pushed over a websocket, votes cast through the API.
(function () {
  "use strict";
  const ballot = document.getElementById("ballot");
  if (!ballot) return;
  const showId = ballot.dataset.showId;
  const live = document.getElementById("live");
  const statusLabel = document.getElementById("show-status");

  function row(songId) {
    return ballot.querySelector('tr[data-song-id="' + songId + '"]');
  }

  function applyTally(t) {
    const tr = row(t.song_id);
    if (!tr || Number(t.version) < Number(tr.dataset.version)) return; // stale, out of order
    tr.dataset.version = t.version;
    tr.querySelector(".up").textContent = t.upvotes;
    tr.querySelector(".down").textContent = t.downvotes;
    tr.querySelector(".score").textContent = t.score;
    tr.classList.remove("flash");
    void tr.offsetWidth; // restart the animation
    tr.classList.add("flash");
  }

  function applyMyVote(songId, value) {
    const tr = row(songId);
    if (!tr) return;
    tr.dataset.myVote = value;
    tr.querySelector(".vote-up").classList.toggle("chosen", value === 1);
    tr.querySelector(".vote-down").classList.toggle("chosen", value === -1);
  }

  function setVotingOpen(open) {
    ballot.dataset.votingOpen = open ? "true" : "false";
    ballot.querySelectorAll("button[name=value]").forEach((b) => { b.disabled = !open; });
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
    item.textContent = message;
    box.replaceChildren(item);
  }

  async function refresh() {
    const response = await fetch("/api/shows/" + showId + "/ballot/", { credentials: "same-origin" });
    if (!response.ok) return;
    (await response.json()).forEach((line) => applyTally(line));
  }

  let retry = 0;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/ws/shows/" + showId + "/");
    socket.onopen = function () {
      if (retry > 0) refresh(); // catch up on what was missed while away
      retry = 0;
      live.hidden = false;
      document.body.dataset.live = "true";
    };
    socket.onmessage = function (event) {
      const message = JSON.parse(event.data);
      if (message.type === "votes.changed") applyTally(message);
      if (message.type === "show.status") {
        statusLabel.textContent = message.status.replace("_", " ");
        setVotingOpen(message.status === "voting_open");
      }
    };
    socket.onclose = function () {
      live.hidden = true;
      document.body.dataset.live = "false";
      retry += 1;
      setTimeout(connect, Math.min(30000, 500 * 2 ** Math.min(retry, 6)));
    };
  }
  connect();

  ballot.addEventListener("click", async function (event) {
    const button = event.target.closest("button[name=value]");
    if (!button) return;
    event.preventDefault();
    const form = button.form;
    const songId = Number(form.elements.song.value);
    const value = Number(button.value);
    const csrf = form.elements.csrfmiddlewaretoken.value;
    const tr = row(songId);
    const withdraw = Number(tr.dataset.myVote) === value;
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
