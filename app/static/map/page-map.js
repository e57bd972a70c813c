/* The small map of a collection or item page (f=html): fetches the GeoJSON named by #page-map's data-src and
   draws it with MapLibre GL JS on a plain background — no basemap, no glyphs, no external requests.
   State for tests and the curious: window.lapisPage = { map, ready, features, errors }. */
(function () {
  "use strict";

  const state = { map: null, ready: false, features: 0, errors: [] };
  window.lapisPage = state;
  const el = document.getElementById("page-map");
  if (!el || typeof maplibregl === "undefined") return;

  const FILL = "#2a7ab0", LINE = "#174a6e";
  const STYLE = {
    version: 8,
    sources: {},
    layers: [{ id: "background", type: "background", paint: { "background-color": "#f4f1ea" } }],
  };
  const polygons = ["match", ["geometry-type"], ["Polygon", "MultiPolygon"], true, false];
  const points = ["match", ["geometry-type"], ["Point", "MultiPoint"], true, false];

  function fail(message) {
    state.errors.push(String(message));
    const note = document.createElement("p");
    note.setAttribute("role", "status");
    note.textContent = "The map could not be drawn: " + message;
    el.after(note);
  }

  const bounds = window.lapisBounds;  // bounds.js

  function draw(map, data) {
    state.features = data.type === "FeatureCollection" ? data.features.length : 1;
    map.addSource("data", { type: "geojson", data });
    map.addLayer({ id: "data-fill", type: "fill", source: "data", filter: polygons,
      paint: { "fill-color": FILL, "fill-opacity": 0.35 } });
    map.addLayer({ id: "data-line", type: "line", source: "data", filter: ["!", points],
      paint: { "line-color": LINE, "line-width": 2 } });
    map.addLayer({ id: "data-point", type: "circle", source: "data", filter: points,
      paint: { "circle-color": FILL, "circle-radius": 5, "circle-stroke-color": "#fff", "circle-stroke-width": 1.5 } });
    const box = el.dataset.bbox ? JSON.parse(el.dataset.bbox) : bounds(data);
    if (box) {
      const [w, s, e, n] = box.length === 6 ? [box[0], box[1], box[3], box[4]] : box;
      map.fitBounds([[w, s], [e, n]], { padding: 24, maxZoom: 16, animate: false });
    }
    map.once("idle", () => { state.ready = true; });
  }

  const map = new maplibregl.Map({
    container: el, style: STYLE, center: [106.25, 10.75], zoom: 8, attributionControl: false,
    canvasContextAttributes: { preserveDrawingBuffer: true },
  });
  state.map = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.on("error", (e) => state.errors.push(String(e.error && e.error.message || e)));
  const loaded = new Promise((resolve) => map.once("load", resolve));
  const data = fetch(el.dataset.src, { headers: { Accept: "application/geo+json" } }).then((r) => {
    if (!r.ok) throw new Error(`${r.status} from ${el.dataset.src}`);
    return r.json();
  });
  Promise.all([data, loaded]).then(([geojson]) => draw(map, geojson)).catch((e) => fail(e.message || e));
})();
