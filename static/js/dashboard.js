/* 工作看板: draws each chart from the numbers the page printed in its table
   (#dashboard-data, the same object the JSON endpoint sends). */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var charts = [];
  var TOP_SURVEYORS = 8;

  function narrow() { return window.innerWidth < 600; }

  function base(chart) {
    return {
      animation: false,
      // Drawn on the canvas: an HTML tooltip's markup carries inline styles, which the
      // Content-Security-Policy refuses.
      tooltip: { trigger: "axis", confine: true, renderMode: "richText" },
      legend: { type: "scroll", top: 0 },
      grid: { left: 8, right: 12, top: 36, bottom: 8, containLabel: true },
      color: ["#166e4a", "#e0a326", "#3b7dd8", "#c2452d", "#7a5cc4", "#2aa3a3", "#8a8f3c", "#c45c9a", "#6b7785"]
    };
  }

  function labels(rows) { return rows.map(function (r) { return r.label; }); }

  function columnSeries(chart, type, stack) {
    return chart.columns.map(function (name, i) {
      return {
        name: name, type: type, stack: stack || undefined,
        data: chart.rows.map(function (r) { return r.values[i]; })
      };
    });
  }

  function option(chart) {
    var o = base(chart);
    var axisLabel = { interval: 0, rotate: narrow() ? 45 : (chart.rows.length > 6 ? 30 : 0), fontSize: 11 };
    if (chart.kind === "bar" || chart.kind === "stacked") {
      o.xAxis = { type: "category", data: labels(chart.rows), axisLabel: axisLabel };
      o.yAxis = { type: "value", minInterval: 1 };
      o.series = columnSeries(chart, "bar", chart.kind === "stacked" ? "total" : null);
    } else if (chart.kind === "hbar") {
      var rows = chart.rows.slice().reverse();
      o.tooltip.axisPointer = { type: "shadow" };
      o.yAxis = { type: "category", data: labels(rows), axisLabel: { fontSize: 11 } };
      o.xAxis = { type: "value", minInterval: 1 };
      o.series = chart.columns.map(function (name, i) {
        return { name: name, type: "bar", stack: "total", label: { show: chart.columns.length === 1, position: "right" },
                 data: rows.map(function (r) { return r.values[i]; }) };
      });
    } else if (chart.kind === "line") {
      o.xAxis = { type: "category", data: labels(chart.rows), boundaryGap: false };
      o.yAxis = { type: "value", minInterval: 1 };
      o.series = columnSeries(chart, "line").map(function (s) { s.showSymbol = chart.rows.length < 20; return s; });
    } else if (chart.kind === "activity") {
      var top = chart.rows.slice(0, TOP_SURVEYORS);
      var rest = chart.rows.slice(TOP_SURVEYORS);
      o.xAxis = { type: "category", data: chart.columns, axisLabel: { rotate: narrow() ? 45 : 0, fontSize: 11 } };
      o.yAxis = { type: "value", minInterval: 1 };
      o.series = top.map(function (r) { return { name: r.label, type: "bar", stack: "total", data: r.values }; });
      if (rest.length) {
        o.series.push({ name: "其他 " + rest.length + " 人", type: "bar", stack: "total",
          data: chart.columns.map(function (_, i) { return rest.reduce(function (s, r) { return s + r.values[i]; }, 0); }) });
      }
    }
    if (!chart.rows.length || !o.series || !o.series.length) {
      o.title = { text: "暂无数据", left: "center", top: "middle", textStyle: { color: "#5b6673", fontSize: 14, fontWeight: "normal" } };
      o.series = o.series && o.series.length ? o.series : [{ type: "bar", data: [] }];
      o.xAxis = o.xAxis || { type: "category", data: [] };
      o.yAxis = o.yAxis || { type: "value" };
    }
    return o;
  }

  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var chart = data[el.getAttribute("data-chart")];
    if (!chart) return;
    var instance = echarts.init(el, null, { renderer: "canvas" });
    instance.setOption(option(chart));
    charts.push({ instance: instance, chart: chart });
  });

  function resize() {
    charts.forEach(function (c) { c.instance.setOption(option(c.chart), true); c.instance.resize(); });
  }
  if (window.ResizeObserver) {
    var pending = null;
    var observer = new ResizeObserver(function () {
      if (pending) cancelAnimationFrame(pending);
      pending = requestAnimationFrame(function () { charts.forEach(function (c) { c.instance.resize(); }); });
    });
    document.querySelectorAll("[data-chart]").forEach(function (el) { observer.observe(el); });
  }
  window.addEventListener("orientationchange", resize);

  // Printing: every table is printed under its chart.
  var closed = [];
  window.addEventListener("beforeprint", function () {
    closed = Array.prototype.filter.call(document.querySelectorAll("details.dash-table"), function (d) { return !d.open; });
    closed.forEach(function (d) { d.open = true; });
    charts.forEach(function (c) { c.instance.resize(); });
  });
  window.addEventListener("afterprint", function () {
    closed.forEach(function (d) { d.open = false; });
    charts.forEach(function (c) { c.instance.resize(); });
  });
  window.dashboardCharts = charts;
})();
