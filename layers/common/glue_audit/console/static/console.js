// Draws each <div class="chart" data-figure="..."> with plotly.js (served by the console itself).
(function () {
  "use strict";
  function draw() {
    var nodes = document.querySelectorAll("div.chart[data-figure]");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var figure = JSON.parse(node.getAttribute("data-figure"));
      window.Plotly.newPlot(node, figure.data, figure.layout, {
        displaylogo: false,
        responsive: true,
        modeBarButtonsToRemove: ["sendDataToCloud", "select2d", "lasso2d"],
      });
    }
    document.body.setAttribute("data-charts-drawn", String(nodes.length));
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
