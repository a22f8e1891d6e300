// Draws the cells of the signed-in user's scope; no base tiles (offices may be offline).
// Cell names come from imported boundary files: they are put in the page as text nodes
// (textContent), never as HTML strings — Leaflet inserts a string tooltip as HTML.
(function () {
  var colours = { district: "#0b5394", street: "#38761d", community: "#e69138" };
  var map = L.map("map", { zoomSnap: 0.25 });
  var list = document.getElementById("cells");

  function text(tag, content, className) {
    var element = document.createElement(tag);
    element.textContent = content;
    if (className) { element.className = className; }
    return element;
  }

  function tooltipFor(properties) {
    return text("span", properties.name + "（" + properties.level_label + " " + properties.code + "）");
  }

  fetch("/map/cells.geojson", { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (data) {
      if (!data.features || !data.features.length) {
        var empty = text("li", "没有分配网格 ");
        empty.appendChild(text("span", "No cells assigned", "en"));
        list.appendChild(empty);
        map.setView([39.65, 106.8], 9);
        return;
      }
      var layer = L.geoJSON(data, {
        style: function (f) {
          var level = f.properties.level;
          return { color: colours[level], weight: level === "district" ? 3 : 1,
                   fillOpacity: level === "community" ? 0.15 : 0.03 };
        },
        onEachFeature: function (f, l) {
          l.bindTooltip(tooltipFor(f.properties));
        }
      }).addTo(map);
      map.fitBounds(layer.getBounds());
      data.features.forEach(function (f) {
        list.appendChild(text("li", f.properties.name + " " + f.properties.code,
                              "level-" + f.properties.level));
      });
    });
})();
