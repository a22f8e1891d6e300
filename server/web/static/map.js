// Draws the cells of the signed-in user's scope; no base tiles (offices may be offline).
// Each level comes on its own, simplified for the current zoom (/map/cells.geojson?level=&zoom=);
// a level with many cells is drawn only once zoomed in to its zoom (from /map/levels.json).
// Cell names come from imported boundary files: they are put in the page as text nodes
// (textContent), never as HTML strings — Leaflet inserts a string tooltip as HTML.
(function () {
  var colours = { province: "#741b47", city: "#351c75", district: "#0b5394", street: "#38761d",
                  community: "#e69138" };
  var BUDGET = 2000;  // cells of one level drawn at any zoom
  var map = L.map("map", { zoomSnap: 0.25 });
  var list = document.getElementById("cells");
  var levels = [];
  var layers = {};  // level code -> { zoom, layer }

  function text(tag, content, className) {
    var element = document.createElement(tag);
    element.textContent = content;
    if (className) { element.className = className; }
    return element;
  }

  function tooltipFor(properties) {
    return text("span", properties.name + "（" + properties.level_label + " " + properties.code + "）");
  }

  function wanted(zoom) {
    return levels.filter(function (level, n) {
      return n === 0 || level.cells <= BUDGET || zoom >= level.zoom;
    });
  }

  function fetchLevel(level, zoom) {
    return fetch("/map/cells.geojson?level=" + encodeURIComponent(level.code) + "&zoom=" + zoom,
                 { credentials: "same-origin" })
      .then(function (r) { return r.json(); });
  }

  function layerFor(level, data) {
    var top = level.code === levels[0].code;
    return L.geoJSON(data, {
      style: function () {
        return { color: colours[level.code] || "#444", weight: top ? 3 : 1,
                 fillOpacity: level.code === "community" ? 0.15 : 0.03 };
      },
      onEachFeature: function (f, l) { l.bindTooltip(tooltipFor(f.properties)); }
    });
  }

  function draw() {
    var zoom = Math.max(0, Math.min(18, Math.floor(map.getZoom())));
    var shown = wanted(zoom);
    return Promise.all(shown.map(function (level) {
      var held = layers[level.code];
      if (held && held.zoom === zoom) { return Promise.resolve(null); }
      return fetchLevel(level, zoom).then(function (data) { return [level, data]; });
    })).then(function (loaded) {
      Object.keys(layers).forEach(function (code) {
        var keep = shown.some(function (level) { return level.code === code; });
        var refreshed = loaded.some(function (item) { return item && item[0].code === code; });
        if (!keep || refreshed) { map.removeLayer(layers[code].layer); delete layers[code]; }
      });
      loaded.forEach(function (item) {
        if (!item) { return; }
        layers[item[0].code] = { zoom: zoom, layer: layerFor(item[0], item[1]).addTo(map),
                                 features: item[1].features };
      });
      list.textContent = "";
      shown.forEach(function (level) {
        (layers[level.code].features || []).forEach(function (f) {
          list.appendChild(text("li", f.properties.name + " " + f.properties.code,
                                "level-" + f.properties.level));
        });
      });
    });
  }

  fetch("/map/levels.json", { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (data) {
      levels = data.levels || [];
      if (!levels.length) {
        var empty = text("li", "没有分配网格 ");
        empty.appendChild(text("span", "No cells assigned", "en"));
        list.appendChild(empty);
        map.setView([39.65, 106.8], 9);
        return;
      }
      var b = data.bbox;
      map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { animate: false });
      draw().then(function () { map.on("zoomend", draw); });
    });
})();
