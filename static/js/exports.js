// Metric exports on the reports page: "Export in the background" starts an export job
// through the API and polls its status, showing its progress, then links its file.
(function () {
  "use strict";
  const form = document.getElementById("metric-export");
  if (!form) return;
  const status = document.getElementById("export-status");
  const bar = document.getElementById("export-progress");
  const POLL_MS = 1000;

  function csrf() {
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function utc(value) {
    return value && !/[zZ]|[+-]\d\d:\d\d$/.test(value) ? value + "Z" : value;
  }

  function show(job) {
    bar.hidden = false;
    bar.value = job.progress;
    if (job.status === "done") {
      status.textContent = "Done: " + job.rows_done + " rows. ";
      const link = document.createElement("a");
      link.href = job.download_url;
      link.textContent = "Download";
      status.appendChild(link);
    } else if (job.status === "failed") {
      status.textContent = "Failed: " + job.error;
    } else {
      status.textContent = job.status + ": " + job.progress + "% (" + job.rows_done + " rows)";
      setTimeout(function () { poll(job.id); }, POLL_MS);
    }
  }

  function poll(id) {
    fetch(form.dataset.jobs + id, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(show)
      .catch(function () { status.textContent = "Lost touch with the export; reload to retry."; });
  }

  form.querySelector("[data-export-job]").addEventListener("click", function () {
    const data = new FormData(form);
    const body = {
      kind: "metric",
      metric: data.get("metric"),
      start: utc(data.get("start")),
      end: utc(data.get("end")),
      interval: data.get("interval"),
      format: data.get("format"),
    };
    status.textContent = "Starting…";
    fetch(form.dataset.jobs, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body),
    })
      .then(function (response) {
        return response.json().then(function (json) { return { ok: response.ok, json: json }; });
      })
      .then(function (answer) {
        if (answer.ok) show(answer.json);
        else status.textContent = answer.json.message;
      });
  });
})();
