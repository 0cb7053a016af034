// Notifications dashboard: draws each plotly figure the page passes with json_script. The
// site does not ship plotly.js (its bundle is ~4.8 MB), so unless a page loads Plotly this
// draws the figure's stacked bars and lines as a small SVG; the tables hold the same numbers.
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#7f7f7f"];
  const HEIGHT = 280;

  function node(name, attributes, parent) {
    const element = document.createElementNS(SVG, name);
    Object.entries(attributes).forEach(([key, value]) => element.setAttribute(key, value));
    if (parent) parent.appendChild(element);
    return element;
  }

  function text(parent, x, y, content, anchor) {
    const label = node("text", { x: x, y: y, "font-size": 11, "text-anchor": anchor || "middle", fill: "#6b6b7b" }, parent);
    label.textContent = content;
    return label;
  }

  function niceCeiling(value) { // the smallest 1, 2 or 5 times a power of ten from value up
    if (value <= 1) return 1;
    const step = Math.pow(10, Math.floor(Math.log10(value)));
    return [1, 2, 5, 10].map((m) => m * step).find((m) => m >= value);
  }

  function colourOf(trace, index) {
    return (trace.marker && trace.marker.color) || (trace.line && trace.line.color) || PALETTE[index % PALETTE.length];
  }

  function drawSvg(container, figure) {
    const bars = figure.data.filter((t) => t.type === "bar");
    const lines = figure.data.filter((t) => t.type === "scatter");
    const xs = (figure.data[0] && figure.data[0].x) || [];
    if (!xs.length) return;
    const stacks = xs.map((_, i) => bars.reduce((sum, t) => sum + (t.y[i] || 0), 0));
    const highest = Math.max(1, ...stacks, ...lines.flatMap((t) => t.y));
    const step = niceCeiling(highest / 4);
    const top = step * Math.ceil(highest / step);
    const width = Math.max(container.clientWidth || 0, 320);
    const margin = { l: 48, r: 16, t: 12, b: 32 };
    const plotWidth = width - margin.l - margin.r;
    const plotHeight = HEIGHT - margin.t - margin.b;
    const band = plotWidth / xs.length;
    const y = (value) => margin.t + plotHeight - (value / top) * plotHeight;
    const centre = (i) => margin.l + band * (i + 0.5);

    const svg = node("svg", { viewBox: "0 0 " + width + " " + HEIGHT, width: "100%", role: "img" });
    const title = figure.layout.title && figure.layout.title.text;
    if (title) node("title", {}, svg).textContent = title;
    for (let value = 0; value <= top; value += step) {
      node("line", { x1: margin.l, x2: width - margin.r, y1: y(value), y2: y(value), stroke: "#e3e3ea" }, svg);
      text(svg, margin.l - 6, y(value) + 4, String(value), "end");
    }
    const every = Math.ceil(xs.length / 10); // at most ten day labels
    xs.forEach((x, i) => {
      if (i % every === 0) text(svg, centre(i), HEIGHT - margin.b + 16, x);
      let base = 0;
      bars.forEach((trace, n) => {
        const value = trace.y[i] || 0;
        if (!value) return;
        const rect = node("rect", {
          x: centre(i) - band * 0.35, width: band * 0.7,
          y: y(base + value), height: y(base) - y(base + value), fill: colourOf(trace, n),
        }, svg);
        node("title", {}, rect).textContent = x + " · " + trace.name + ": " + value;
        base += value;
      });
    });
    lines.forEach((trace, n) => {
      const colour = colourOf(trace, bars.length + n);
      const points = trace.y.map((value, i) => centre(i) + "," + y(value)).join(" ");
      node("polyline", { points: points, fill: "none", stroke: colour, "stroke-width": 2 }, svg);
      trace.y.forEach((value, i) => {
        const dot = node("circle", { cx: centre(i), cy: y(value), r: 3, fill: colour }, svg);
        node("title", {}, dot).textContent = xs[i] + " · " + trace.name + ": " + value;
      });
    });

    const legend = document.createElement("p");
    figure.data.forEach((trace, n) => {
      const item = document.createElement("span");
      item.style.marginRight = "1em";
      const swatch = document.createElement("span");
      swatch.textContent = "■ ";
      swatch.style.color = colourOf(trace, n);
      item.append(swatch, trace.name);
      legend.appendChild(item);
    });
    container.replaceChildren(svg, legend);
  }

  document.querySelectorAll("[data-figure]").forEach((container) => {
    const source = document.getElementById(container.dataset.figure);
    if (!source) return;
    const figure = JSON.parse(source.textContent);
    if (window.Plotly) {
      window.Plotly.newPlot(container, figure.data, figure.layout, { responsive: true });
    } else {
      drawSvg(container, figure);
    }
  });
})();
