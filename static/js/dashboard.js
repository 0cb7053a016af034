// Draws a dashboard's widgets from the drawings the page carries (json_script
// "dashboard-widgets") and keeps them current: the minute job broadcasts every widget of an
// open dashboard over the websocket, and each is redrawn in place, without a reload.
(function () {
  "use strict";
  const NARROW = 600; // px: below this, a chart is laid out for a phone
  const grid = document.getElementById("dashboard-grid");
  const state = document.getElementById("dashboard-live");
  const source = document.getElementById("dashboard-widgets");
  if (!grid || !source) return;

  function layoutFor(layout, element) {
    const width = element.clientWidth || window.innerWidth;
    const out = Object.assign({}, layout, { autosize: true });
    if (width < NARROW && out.title && out.title.text) {
      out.title = Object.assign({}, out.title, { font: { size: 13 } });
    }
    return out;
  }

  function drawChart(section, widget) {
    const chart = section.querySelector("[data-chart]");
    if (!chart || !window.Plotly || !widget.figure) return;
    const width = chart.clientWidth || window.innerWidth;
    const layout = layoutFor(widget.figure.layout, chart);
    const config = { responsive: true, displaylogo: false, displayModeBar: width >= NARROW ? "hover" : false };
    if (chart.classList.contains("js-plotly-plot")) window.Plotly.react(chart, widget.figure.data, layout, config);
    else window.Plotly.newPlot(chart, widget.figure.data, layout, config);
  }

  function cellText(value) {
    if (value === null || value === undefined) return "—";
    return String(value);
  }

  function body(section, widget) {
    const holder = section.querySelector(".widget-body");
    holder.replaceChildren();
    if (widget.error) {
      const p = document.createElement("p");
      p.className = "widget-error";
      p.setAttribute("role", "alert");
      p.textContent = widget.error;
      holder.append(p);
      return;
    }
    if (widget.kind === "metric") {
      const value = document.createElement("p");
      value.className = "metric-value";
      value.dataset.value = "";
      value.textContent = widget.text;
      holder.append(value);
      if (widget.note) {
        const note = document.createElement("p");
        note.className = "metric-note";
        note.textContent = widget.note;
        holder.append(note);
      }
      return;
    }
    if (widget.kind === "table") {
      const scroll = document.createElement("div");
      scroll.className = "table-scroll";
      const table = document.createElement("table");
      table.className = "ballot";
      const head = table.createTHead().insertRow();
      widget.columns.forEach((column) => {
        const th = document.createElement("th");
        th.textContent = column;
        head.append(th);
      });
      const rows = table.createTBody();
      widget.rows.forEach((row) => {
        const tr = rows.insertRow();
        row.forEach((cell) => { tr.insertCell().textContent = cellText(cell); });
      });
      if (!widget.rows.length) {
        const td = rows.insertRow().insertCell();
        td.colSpan = Math.max(widget.columns.length, 1);
        td.textContent = "Nothing in this range.";
      }
      scroll.append(table);
      holder.append(scroll);
      return;
    }
    const chart = document.createElement("div");
    chart.className = "chart";
    chart.dataset.chart = "";
    holder.append(chart);
  }

  function update(widget, fresh) {
    const section = document.getElementById("widget-" + widget.id);
    if (!section) return;
    const chart = section.querySelector("[data-chart]");
    const keepChart = fresh && chart && widget.figure && !widget.error;
    if (!keepChart && fresh) body(section, widget);
    if (widget.figure && !widget.error) drawChart(section, widget);
    const computed = section.querySelector("[data-computed]");
    if (computed && widget.computed_at) computed.textContent = widget.computed_at.slice(11, 19);
    if (fresh) {
      section.classList.add("updated");
      setTimeout(() => section.classList.remove("updated"), 1200);
    }
  }

  function drawAll(widgets, fresh) {
    widgets.forEach((widget) => update(widget, fresh));
  }

  function start() {
    drawAll(JSON.parse(source.textContent), false);
    let retry = 0;
    function connect() {
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      const socket = new WebSocket(scheme + location.host + state.dataset.socket);
      socket.onopen = () => {
        retry = 0;
        state.textContent = "Live updates: on";
        state.dataset.connected = "true";
      };
      socket.onmessage = (event) => {
        const message = JSON.parse(event.data);
        if (message.type !== "dashboard.update") return;
        drawAll(message.widgets, true);
        state.textContent = "Live updates: on · last " + message.at.slice(11, 19) + " UTC";
        state.dataset.updates = String(Number(state.dataset.updates || 0) + 1);
      };
      socket.onclose = (event) => {
        state.dataset.connected = "false";
        if (event.code === 4403) {
          state.textContent = "Live updates: staff only";
          return;
        }
        state.textContent = "Live updates: reconnecting…";
        retry = Math.min(retry + 1, 6);
        setTimeout(connect, 500 * 2 ** retry);
      };
    }
    connect();
  }

  if (window.Plotly) start();
  else window.addEventListener("load", start);
})();
