// Draws the sites in #map-points on #map, each coloured by its current condition.
// The page says everything the map shows in its text, so without this script, or
// without tiles, nothing is lost but the picture.
(function () {
  "use strict";
  var element = document.getElementById("map");
  var data = document.getElementById("map-points");
  if (!element || !data || typeof L === "undefined") {
    return;
  }
  var points = JSON.parse(data.textContent);
  if (!points.length) {
    return;
  }
  var fallback = element.querySelector(".map-fallback");
  if (fallback) {
    fallback.remove();
  }
  var map = L.map(element, { scrollWheelZoom: false });
  if (element.dataset.tiles) {
    L.tileLayer(element.dataset.tiles, {
      maxZoom: 18,
      attribution: element.dataset.attribution || "",
    }).addTo(map);
  }
  var bounds = [];
  points.forEach(function (point) {
    var level = point.condition || "none-recorded";
    var marker = L.circleMarker([point.lat, point.lon], {
      radius: 9,
      className: "marker level-" + level + (point.approximate ? " approximate" : ""),
    });
    var label = document.createElement("span");
    var link = document.createElement("a");
    link.href = point.url;
    link.textContent = point.name;
    label.appendChild(link);
    label.appendChild(
      document.createTextNode(
        ": " + (point.condition_label || "no event recorded") +
          (point.approximate ? " (approximate position)" : "")
      )
    );
    marker.bindPopup(label);
    // An element, not a string: Leaflet reads a string as HTML, and a site's name is
    // text a curator typed.
    var tip = document.createElement("span");
    tip.textContent = point.name;
    marker.bindTooltip(tip);
    marker.addTo(map);
    bounds.push([point.lat, point.lon]);
  });
  if (bounds.length === 1) {
    map.setView(bounds[0], 15);
  } else {
    map.fitBounds(bounds, { padding: [24, 24], maxZoom: 16 });
  }
})();
