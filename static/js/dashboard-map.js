/* 工作看板: the problem toilets by village on a Leaflet map. The tile layer comes from the
   server's settings (MAP_TILE_URL …); without one, no tile is requested at all and the
   villages are drawn on a plain background with their names. */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  var el = document.querySelector("[data-map]");
  if (!source || !el || !window.L) return;
  var chart = JSON.parse(source.textContent)[el.getAttribute("data-map")];
  var tiles = JSON.parse(document.getElementById("dashboard-tiles").textContent);
  var villages = chart.extra.villages || [];
  var points = chart.extra.points || [];
  var map = L.map(el, { attributionControl: !!tiles.url, zoomSnap: 0.25 });
  if (tiles.url) {
    var options = { attribution: tiles.attribution || "", maxZoom: 18 };
    if (tiles.subdomains && tiles.subdomains.length) options.subdomains = tiles.subdomains;
    L.tileLayer(tiles.url, options).addTo(map);
  } else {
    el.classList.add("no-tiles");
  }

  function text(s) { var span = document.createElement("span"); span.textContent = s; return span; }
  function colour(v) {
    var share = v.total ? v.closed / v.total : 0;
    return share >= 0.8 ? "#166e4a" : share >= 0.4 ? "#e0a326" : "#c2452d";
  }
  var bounds = [];
  var most = villages.reduce(function (m, v) { return Math.max(m, v.total); }, 1);
  points.forEach(function (p) {
    L.circleMarker([p.lat, p.lon], { radius: 3, weight: 0, fillOpacity: 0.8, fillColor: p.closed ? "#166e4a" : "#c2452d" })
      .bindTooltip(text(p.label + (p.closed ? " · 已销号" : " · 未销号")))
      .addTo(map);
    bounds.push([p.lat, p.lon]);
  });
  villages.forEach(function (v) {
    var marker = L.circleMarker([v.lat, v.lon], {
      radius: 8 + 16 * Math.sqrt(v.total / most), color: colour(v), weight: 2, fillColor: colour(v), fillOpacity: 0.35
    }).addTo(map);
    var label = v.name + "：问题厕所 " + v.total + "，未销号 " + v.open + "，已销号 " + v.closed;
    marker.bindPopup(text(label));
    marker.bindTooltip(text(v.name + " " + v.open + "/" + v.total), { permanent: true, direction: "right", className: "dash-label", offset: [10, 0] });
    bounds.push([v.lat, v.lon]);
  });
  if (bounds.length) {
    map.fitBounds(bounds, { padding: [30, 30], maxZoom: 14 });
  } else {
    map.setView([23, 108.6], 9);
    var note = L.control({ position: "topright" });
    note.onAdd = function () {
      var div = L.DomUtil.create("div", "dash-label");
      div.textContent = "暂无已定位的问题厕所";
      return div;
    };
    note.addTo(map);
  }
  if (window.ResizeObserver) new ResizeObserver(function () { map.invalidateSize(); }).observe(el);
  window.dashboardMap = map;
})();
