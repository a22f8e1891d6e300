// Draws the cells of the signed-in user's scope; no base tiles (offices may be offline).
(function () {
  var colours = { district: "#0b5394", street: "#38761d", community: "#e69138" };
  var map = L.map("map", { zoomSnap: 0.25 });
  var list = document.getElementById("cells");
  fetch("/map/cells.geojson", { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (data) {
      if (!data.features || !data.features.length) {
        list.innerHTML = "<li>没有分配网格 <span class='en'>No cells assigned</span></li>";
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
          l.bindTooltip(f.properties.name + "（" + f.properties.level_label + " " + f.properties.code + "）");
        }
      }).addTo(map);
      map.fitBounds(layer.getBounds());
      data.features.forEach(function (f) {
        var li = document.createElement("li");
        li.className = "level-" + f.properties.level;
        li.textContent = f.properties.name + " " + f.properties.code;
        list.appendChild(li);
      });
    });
})();
