/* [minX, minY, maxX, maxY] of every position in a GeoJSON geometry, Feature or FeatureCollection, or null when it
   has none. Shared by the web map (search results) and the small maps of the HTML pages. */
(function () {
  "use strict";
  const geometries = (g) => !g ? [] : g.type === "GeometryCollection" ? g.geometries.flatMap(geometries) : [g];

  window.lapisBounds = function (geojson) {
    const box = [Infinity, Infinity, -Infinity, -Infinity];
    const visit = (c) => {
      if (typeof c[0] === "number") {
        box[0] = Math.min(box[0], c[0]); box[1] = Math.min(box[1], c[1]);
        box[2] = Math.max(box[2], c[0]); box[3] = Math.max(box[3], c[1]);
      } else c.forEach(visit);
    };
    const features = geojson.type === "FeatureCollection" ? geojson.features
      : geojson.type === "Feature" ? [geojson] : [{ geometry: geojson }];
    features.flatMap((f) => geometries(f.geometry)).forEach((g) => visit(g.coordinates));
    return box[0] <= box[2] ? box : null;
  };
})();
