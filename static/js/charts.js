// Draws every plotly figure a page passes with json_script: an element with
// data-figure="<id of the script holding the figure>" becomes the chart.
// On a phone's width the title wraps to fit and the mode bar, which would sit on it, is off.
(function () {
  "use strict";
  const NARROW = 600; // px: below this, a chart is laid out for a phone

  function wrapped(text, perLine) {
    const lines = [];
    text.split(" ").forEach(function (word) {
      const last = lines.length - 1;
      if (last >= 0 && (lines[last] + " " + word).length <= perLine) lines[last] += " " + word;
      else lines.push(word);
    });
    return lines;
  }

  function fitted(layout, width) {
    const title = layout.title && layout.title.text;
    if (width >= NARROW || !title) return layout;
    const lines = wrapped(title, Math.max(24, Math.floor(width / 8)));
    const margin = Object.assign({ t: 40 }, layout.margin);
    return Object.assign({}, layout, {
      title: Object.assign({}, layout.title, { text: lines.join("<br>"), font: { size: 14 } }),
      margin: Object.assign(margin, { t: Math.max(margin.t, 24 + 18 * lines.length) }),
    });
  }

  function draw() {
    document.querySelectorAll("[data-figure]").forEach(function (element) {
      const source = document.getElementById(element.dataset.figure);
      if (!source || !window.Plotly) return;
      const figure = JSON.parse(source.textContent);
      const width = element.clientWidth || window.innerWidth;
      window.Plotly.newPlot(element, figure.data, fitted(figure.layout, width), {
        responsive: true,
        displaylogo: false,
        displayModeBar: width >= NARROW ? "hover" : false,
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
