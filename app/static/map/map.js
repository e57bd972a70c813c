/* LAPIS map viewer: MapLibre GL JS served by the app, the plan style and TileJSON from the app,
   click → /locate popup, search → /search, Vietnamese UI with an English switch. No external requests. */
(function () {
  "use strict";

  const I18N = {
    vi: {
      title: "Quy hoạch tỉnh Long An 2021–2030", search: "Tìm địa danh, dự án, vùng…", layers: "Lớp bản đồ",
      legend: "Chú giải", noResult: "Không tìm thấy", locating: "Đang tra cứu…", failed: "Không tra cứu được",
      outside: "Điểm này nằm ngoài tỉnh Long An",
      note: "Hình học sơ đồ theo Quyết định 686/QĐ-TTg (13/06/2023); ranh giới huyện trước 1/7/2025.",
      keys: { admin_unit: "Đơn vị hành chính", admin_units: "Đơn vị hành chính", district: "Huyện/thành phố",
        province: "Tỉnh", region: "Vùng", regions: "Vùng", zone: "Phân khu", zones: "Vùng/phân khu",
        centre: "Trung tâm", corridor: "Hành lang", corridors: "Hành lang", axis: "Trục động lực",
        axes: "Trục động lực", nearest_axis: "Trục động lực gần nhất", projects: "Dự án",
        nearby_projects: "Dự án lân cận", parcel: "Thửa đất", parcels: "Thửa đất" },
      point: "Vị trí",
    },
    en: {
      title: "Long An provincial plan 2021–2030", search: "Find a place, project, zone…", layers: "Layers",
      legend: "Legend", noResult: "Nothing found", locating: "Looking up…", failed: "Lookup failed",
      outside: "This point is outside Long An province",
      note: "Schematic geometry after Decision 686/QĐ-TTg (13/06/2023); district boundaries before 1/7/2025.",
      keys: { admin_unit: "Administrative unit", admin_units: "Administrative units", district: "District",
        province: "Province", region: "Region", regions: "Regions", zone: "Zone", zones: "Zones",
        centre: "Centre", corridor: "Corridor", corridors: "Corridors", axis: "Development axis",
        axes: "Development axes", nearest_axis: "Nearest axis", projects: "Projects",
        nearby_projects: "Nearby projects", parcel: "Parcel", parcels: "Parcels" },
      point: "Point",
    },
  };

  const params = new URLSearchParams(location.search);
  let lang = params.get("lang") === "en" ? "en" : "vi";
  const archive = params.get("pmtiles");  // static mode: tiles from a PMTiles export via HTTP range requests
  if (archive) {
    const protocol = new pmtiles.Protocol();
    maplibregl.addProtocol("pmtiles", protocol.tile);
  }
  const state = { map: null, ready: false, errors: [], lang };
  window.lapis = state;

  const $ = (sel) => document.querySelector(sel);
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;", "'": "&#39;" }[c]));
  const t = (key) => I18N[lang][key];

  function nameOf(item) {
    if (!item || typeof item !== "object") return null;
    const p = item.properties && typeof item.properties === "object" ? item.properties : item;
    const vi = p.name_vi || p.name, en = p.name_en;
    if (!vi && !en) return null;
    return lang === "en" ? (en || vi) : (vi || en);
  }

  function distance(item) {
    const p = item && item.properties ? item.properties : item;
    const d = p && (p.distance_m ?? p.distance);
    if (typeof d !== "number") return "";
    return d >= 1000 ? ` (${(d / 1000).toFixed(1)} km)` : ` (${Math.round(d)} m)`;
  }

  /* Turn whatever /locate answers into rows: every key whose value is a named thing or a list of them. */
  function locateRows(body) {
    const rows = [];
    const visit = (key, value) => {
      if (Array.isArray(value)) {
        const names = value.map((v) => nameOf(v) && esc(nameOf(v)) + esc(distance(v))).filter(Boolean);
        if (names.length) rows.push([key, names.join("<br>")]);
      } else if (value && typeof value === "object") {
        const name = nameOf(value);
        if (name) rows.push([key, esc(name) + esc(distance(value))]);
        else if (!value.type || value.type !== "Point") {
          for (const [k, v] of Object.entries(value)) visit(k, v);
        }
      }
    };
    for (const [k, v] of Object.entries(body || {})) visit(k, v);
    return rows;
  }

  function label(key) {
    return I18N[lang].keys[key] || key.replace(/_/g, " ");
  }

  async function locate(lngLat) {
    const popup = new maplibregl.Popup({ maxWidth: "340px" }).setLngLat(lngLat)
      .setHTML(`<p>${esc(t("locating"))}</p>`).addTo(state.map);
    const url = `/locate?lon=${lngLat.lng.toFixed(6)}&lat=${lngLat.lat.toFixed(6)}`
      + (state.asof ? `&asof=${encodeURIComponent(state.asof)}` : "");  // history-core.js: the plan as of then
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      const body = await response.json();
      if (!response.ok) throw new Error(body.detail || response.statusText);
      const rows = locateRows(body);
      const head = `<h3>${esc(t("point"))} ${lngLat.lat.toFixed(5)}, ${lngLat.lng.toFixed(5)}</h3>`;
      popup.setHTML(head + (rows.length
        ? "<dl>" + rows.map(([k, v]) => `<dt>${esc(label(k))}</dt><dd>${v}</dd>`).join("") + "</dl>"
        : `<p>${esc(t("outside"))}</p>`));
    } catch (err) {
      popup.setHTML(`<p>${esc(t("failed"))}: ${esc(err.message || err)}</p>`);
    }
  }

  function bboxOf(item) {
    if (Array.isArray(item.bbox) && item.bbox.length >= 4) return item.bbox;
    const geom = item.geometry || item.geom;
    if (!geom || !geom.coordinates) {
      const lon = item.lon ?? item.longitude, lat = item.lat ?? item.latitude;
      return typeof lon === "number" ? [lon, lat, lon, lat] : null;
    }
    return window.lapisBounds(geom);  // bounds.js
  }

  function flyTo(item) {
    const box = bboxOf(item);
    if (!box) return;
    if (box[0] === box[2] && box[1] === box[3]) state.map.flyTo({ center: [box[0], box[1]], zoom: 13 });
    else state.map.fitBounds([[box[0], box[1]], [box[2], box[3]]], { padding: 60, maxZoom: 14 });
  }

  let searchSeq = 0;
  async function search(q) {
    const list = $("#search-results");
    const seq = ++searchSeq;
    if (!q.trim()) { list.innerHTML = ""; return; }
    const response = await fetch(`/search?q=${encodeURIComponent(q)}&limit=8`, { headers: { Accept: "application/json" } });
    if (seq !== searchSeq) return;
    const body = response.ok ? await response.json() : {};
    const items = Array.isArray(body) ? body : body.results || body.features || body.items || [];
    list.innerHTML = "";
    if (!items.length) { list.innerHTML = `<li>${esc(t("noResult"))}</li>`; return; }
    for (const item of items) {
      const li = document.createElement("li");
      const p = item.properties || item;
      const layer = p.layer || p.collection || item.collection || "";
      li.tabIndex = 0;
      li.innerHTML = `${esc(nameOf(item) || p.code || "?")} <span class="layer">${esc(label(layer))}</span>`;
      li.addEventListener("click", () => { flyTo(item); list.innerHTML = ""; });
      list.appendChild(li);
    }
  }

  function groupsOf(style) {
    const groups = {};
    for (const layer of style.layers) {
      const g = layer.metadata && layer.metadata["lapis:group"];
      if (g) (groups[g] = groups[g] || []).push(layer.id);
    }
    return groups;
  }

  const hidden = new Set();
  function buildPanel(style) {
    const meta = style.metadata || {};
    const groups = groupsOf(style);
    const toggles = $("#toggles");
    toggles.innerHTML = "";
    for (const g of meta["lapis:groups"] || []) {
      const row = document.createElement("label");
      row.innerHTML = `<input type="checkbox" data-group="${esc(g.id)}" ${hidden.has(g.id) ? "" : "checked"}> ${esc(g.label)}`;
      row.querySelector("input").addEventListener("change", (e) => {
        if (e.target.checked) hidden.delete(g.id); else hidden.add(g.id);
        for (const id of groups[g.id] || []) {
          state.map.setLayoutProperty(id, "visibility", e.target.checked ? "visible" : "none");
        }
      });
      toggles.appendChild(row);
    }
    const legend = $("#legend");
    legend.innerHTML = "";
    for (const item of meta["lapis:legend"] || []) {
      const swatch = item.type === "fill"
        ? `<rect x="1" y="1" width="20" height="12" fill="${esc(item.color)}" fill-opacity="0.6" stroke="#555" stroke-width="0.5"/>`
        : `<line x1="1" y1="7" x2="21" y2="7" stroke="${esc(item.color)}" stroke-width="3" ${item.dash ? `stroke-dasharray="${esc(item.dash)}"` : ""}/>`;
      const li = document.createElement("li");
      li.innerHTML = `<svg width="22" height="14" aria-hidden="true">${swatch}</svg><span>${esc(item.label)}</span>`;
      legend.appendChild(li);
    }
  }

  function applyHidden(style) {
    for (const layer of style.layers) {
      const g = layer.metadata && layer.metadata["lapis:group"];
      if (g && hidden.has(g)) layer.layout = { ...(layer.layout || {}), visibility: "none" };
    }
    return style;
  }

  function translateUi() {
    document.documentElement.lang = lang;
    document.title = `LAPIS — ${t("title")}`;
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
    for (const b of document.querySelectorAll("[data-lang]")) b.classList.toggle("active", b.dataset.lang === lang);
  }

  async function loadStyle() {
    const query = new URLSearchParams({ lang });
    if (archive) query.set("pmtiles", archive);
    const response = await fetch(`/styles/plan.json?${query}`);
    if (!response.ok) throw new Error(`style: HTTP ${response.status}`);
    return response.json();
  }

  async function setLang(next) {
    if (next === lang) return;
    lang = state.lang = next;
    const url = new URL(location.href);
    url.searchParams.set("lang", lang);
    history.replaceState(null, "", url);
    translateUi();
    const style = await loadStyle();
    buildPanel(style);
    state.map.setStyle(applyHidden(style));
  }

  async function main() {
    translateUi();
    const style = await loadStyle();
    buildPanel(style);
    const map = new maplibregl.Map({
      container: "map", style, center: style.center, zoom: style.zoom, hash: "view",
      attributionControl: { compact: true }, canvasContextAttributes: { preserveDrawingBuffer: true },
    });
    state.map = map;
    map.addControl(new maplibregl.NavigationControl(), "top-right");
    map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");
    map.on("error", (e) => {
      const message = (e.error && e.error.message) || String(e.error || e);
      state.errors.push(message);
      console.error("map error:", message);
    });
    map.on("click", (e) => (state.onClick ? state.onClick(e.lngLat) : locate(e.lngLat)));  // check.js may take clicks
    map.once("idle", () => { state.ready = true; document.body.dataset.ready = "1"; });
    for (const b of document.querySelectorAll("[data-lang]")) b.addEventListener("click", () => setLang(b.dataset.lang));
    let timer = null;
    $("#search-input").addEventListener("input", (e) => {
      clearTimeout(timer);
      timer = setTimeout(() => search(e.target.value).catch((err) => console.warn("search:", err)), 200);
    });
    $("#search").addEventListener("submit", (e) => {
      e.preventDefault();
      const first = $("#search-results li");
      if (first) first.click();
    });
  }

  main().catch((err) => { state.errors.push(String(err)); console.error(err); });
})();
