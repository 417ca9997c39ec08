// The crawl-health charts: articles per day per portal, runs per day per status (uPlot).
// Data comes from the page itself (<script type="application/json" id="chart-data">).
(function () {
  "use strict";
  var DAY = 86400;
  var PALETTE = ["#1f5fbf", "#2e8540", "#d07a00", "#7a3fb0", "#c62828", "#00838f", "#555"];
  var STATUS_COLORS = { ok: "#2e8540", errors: "#d07a00", degraded: "#7a3fb0",
                        failed: "#c62828", killed: "#555", running: "#1f5fbf" };

  function epoch(day) { return Date.parse(day + "T00:00:00Z") / 1000; }

  // rows [{day, <key>, <value>}] -> uPlot data: [every day of the window, series per key],
  // zero where absent (a crawl that stopped shows as a drop, not as a gap)
  function pivot(rows, key, value, first, last) {
    var keys = {}, cells = {};
    rows.forEach(function (r) {
      var t = epoch(r.day);
      keys[r[key]] = true; cells[t + "|" + r[key]] = r[value];
    });
    var ts = [];
    for (var t = first; t <= last; t += DAY) ts.push(t);
    var names = Object.keys(keys).sort();
    var data = [ts];
    names.forEach(function (n) {
      data.push(ts.map(function (t) { return cells[t + "|" + n] || 0; }));
    });
    return { names: names, data: data };
  }

  function draw(el, p, colors, label) {
    if (!p.names.length) {
      el.textContent = "아직 자료가 없습니다.";
      return null;
    }
    var series = [{ label: "날짜 (KST)", value: "{YYYY}-{MM}-{DD}" }];
    p.names.forEach(function (n, i) {
      var c = colors(n, i);
      series.push({ label: n, stroke: c, fill: c + "22", width: 2, points: { show: true, size: 6 } });
    });
    var xs = p.data[0];
    var opts = {
      width: Math.max(320, el.clientWidth - 16), height: 260,
      series: series,
      scales: { x: { time: true, range: [xs[0] - DAY / 2, xs[xs.length - 1] + DAY / 2] },
                y: { range: function (u, min, max) { return [0, Math.max(1, max * 1.15)]; } } },
      axes: [{ values: "{MM}-{DD}", incrs: [DAY, 2 * DAY, 7 * DAY, 14 * DAY] },
             { label: label, size: 60 }],
      legend: { live: true },
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
    };
    return new uPlot(opts, p.data, el);
  }

  var source = document.getElementById("chart-data");
  if (!source || typeof uPlot === "undefined") return;
  var d = JSON.parse(source.textContent);
  var last = epoch(d.today), first = last - (d.days - 1) * DAY;
  var perPortal = draw(document.getElementById("chart-articles"), pivot(d.articles, "portal", "articles", first, last),
                       function (n, i) { return PALETTE[i % PALETTE.length]; }, "기사 수");
  var perStatus = draw(document.getElementById("chart-runs"), pivot(d.runs, "status", "runs", first, last),
                       function (n, i) { return STATUS_COLORS[n] || PALETTE[i % PALETTE.length]; }, "실행 수");
  document.body.dataset.charts = [perPortal, perStatus].filter(Boolean).length;
})();
