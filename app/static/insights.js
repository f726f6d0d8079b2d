// Insights: each chart draws the numbers of the table below it (one source for both; no inline data).
(function () {
  "use strict";
  var COLOURS = ["#1b6ac9", "#d9822b", "#2e8540", "#9c3d9c"];

  function readTable(table) {
    var heads = Array.prototype.map.call(table.tHead.rows[0].cells, function (cell) { return cell.textContent.trim(); });
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var labels = rows.map(function (row) { return row.cells[0].textContent.trim(); });
    var datasets = heads.slice(1).map(function (head, index) {
      return {
        label: head,
        backgroundColor: COLOURS[index % COLOURS.length],
        data: rows.map(function (row) { return Number(row.cells[index + 1].getAttribute("data-value")); })
      };
    });
    return { labels: labels, datasets: datasets };
  }

  function draw(canvas) {
    var table = document.getElementById(canvas.getAttribute("data-table"));
    if (!table || typeof window.Chart === "undefined") { return; }
    var stacked = canvas.getAttribute("data-stacked") === "true";
    new window.Chart(canvas, {
      type: "bar",
      data: readTable(table),
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { position: "bottom" } },
        scales: {
          x: { stacked: stacked },
          y: { stacked: stacked, beginAtZero: true, ticks: { precision: 0 } }
        }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("canvas[data-table]"), draw);
  });
})();
