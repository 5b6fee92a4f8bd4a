// One chart per indicator: the cumulative figure by month, the pace line and the target line.
(function () {
  if (!window.echarts) return;
  var charts = JSON.parse(document.getElementById("chart-data").textContent);
  var words = JSON.parse(document.getElementById("chart-words").textContent);
  var drawn = [];
  charts.forEach(function (chart) {
    var element = document.getElementById("chart-" + chart.key);
    if (!element) return;
    var series = [{
      name: words.actual, type: "line", data: chart.monthly, connectNulls: false,
      symbolSize: 6, lineStyle: { width: 3, color: "#1f6f43" }, itemStyle: { color: "#1f6f43" }
    }];
    if (chart.pace) {
      series.push({
        name: words.pace, type: "line", data: chart.pace, symbol: "none",
        lineStyle: { type: "dashed", color: "#3d6fb6" }, itemStyle: { color: "#3d6fb6" }
      });
    }
    if (chart.target !== null && chart.target !== undefined) {
      series.push({
        name: words.target, type: "line", symbol: "none",
        data: words.months.map(function () { return chart.target; }),
        lineStyle: { color: "#a32020", width: 1.5 }, itemStyle: { color: "#a32020" }
      });
    }
    var instance = echarts.init(element, null, { locale: words.locale, renderer: "canvas" });
    instance.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { bottom: 0 },
      grid: { left: 56, right: 16, top: 16, bottom: 48 },
      xAxis: { type: "category", data: words.months, boundaryGap: false },
      yAxis: { type: "value", min: 0 },
      series: series
    });
    drawn.push(instance);
  });
  window.addEventListener("resize", function () { drawn.forEach(function (c) { c.resize(); }); });
  window.addEventListener("beforeprint", function () { drawn.forEach(function (c) { c.resize(); }); });
})();
