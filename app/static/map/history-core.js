/* The plan's past on the LAPIS map — what the history views share: their texts (Vietnamese, English with the map's
   switch), the side panel they live in, the "viewing the plan as of …" banner, and small helpers (JSON fetch,
   dates, overlays that survive the style being replaced). timeslider.js, compare.js and history.js fill the panel.
   State for tests and the curious: window.lapisHistory.state. */
(function () {
  "use strict";

  const TEXT = {
    vi: {
      panel: "Lịch sử quy hoạch", planAt: "Quy hoạch tại thời điểm", revision: "Phiên bản quy hoạch",
      now: "Hiện tại", slider: "Thanh thời gian", backToNow: "Về hiện tại", viewing: "Đang xem quy hoạch tại thời điểm",
      inForce: "phiên bản đang hiệu lực", staticMode: "Bản đồ tĩnh (PMTiles): không xem được quá khứ.",
      compare: "So sánh hai phiên bản", from: "Từ", to: "Đến", run: "So sánh", clear: "Xóa",
      viewed: "Thời điểm đang xem", added: "Thêm mới", removed: "Bị xóa", changed: "Thay đổi", oldShape: "Hình cũ",
      comparing: "Đang so sánh…", noChanges: "Không có thay đổi.", more: "Chỉ hiện {n} thay đổi đầu tiên.",
      area: "Diện tích", length: "Chiều dài", moved: "Dịch chuyển tối đa", geometryChanged: "Hình học thay đổi",
      featureHistory: "Lịch sử đối tượng", pickHint: "Bấm vào một đối tượng trên bản đồ để xem lịch sử của nó.",
      here: "Đối tượng tại điểm bấm", versions: "Các phiên bản (mới nhất trước)", loading: "Đang tải…",
      failed: "Không tải được", who: "Người thay đổi", reason: "Lý do", proposal: "Đề xuất", current: "hiện hành",
      show: "Vẽ phiên bản này", shown: "Đang vẽ trên bản đồ", close: "Đóng", version: "Phiên bản",
      asThen: "Đối tượng lúc đó", absentThen: "Đối tượng chưa có (hoặc đã bị xóa) tại thời điểm này.",
      validAt: "hiệu lực tại thời điểm đang xem", older: "Các phiên bản cũ hơn…",
      operations: { insert: "Tạo mới", update: "Sửa đổi", delete: "Xóa" },
      layers: { plans: "Quy hoạch", admin_units: "Đơn vị hành chính", zones: "Vùng/phân khu", corridors: "Hành lang",
        axes: "Trục động lực", projects: "Dự án", parcels: "Thửa đất", use_rules: "Quy tắc sử dụng đất" },
    },
    en: {
      panel: "Plan history", planAt: "The plan as of", revision: "Plan revision", now: "Now", slider: "Time slider",
      backToNow: "Back to now", viewing: "Viewing the plan as of", inForce: "revision in force",
      staticMode: "Static map (PMTiles): the past cannot be shown.",
      compare: "Compare two revisions", from: "From", to: "To", run: "Compare", clear: "Clear",
      viewed: "The instant being viewed", added: "Added", removed: "Removed", changed: "Changed",
      oldShape: "Old shape", comparing: "Comparing…", noChanges: "No changes.", more: "Only the first {n} changes are listed.",
      area: "Area", length: "Length", moved: "Moved at most", geometryChanged: "Geometry changed",
      featureHistory: "Feature history", pickHint: "Click a feature on the map to see its history.",
      here: "Features at the clicked point", versions: "Versions (newest first)", loading: "Loading…",
      failed: "Could not load", who: "Changed by", reason: "Reason", proposal: "Proposal", current: "current",
      show: "Draw this version", shown: "Drawn on the map", close: "Close", version: "Version",
      asThen: "The feature then", absentThen: "The feature did not exist (or was deleted) at this instant.",
      validAt: "valid at the instant viewed", older: "Older versions…",
      operations: { insert: "Created", update: "Changed", delete: "Deleted" },
      layers: { plans: "Plans", admin_units: "Administrative units", zones: "Zones", corridors: "Corridors",
        axes: "Development axes", projects: "Projects", parcels: "Parcels", use_rules: "Land-use rules" },
    },
  };

  const state = { asof: null, revisions: [], feature: null, versions: [], drawn: null, then: undefined,
    compare: null, static: false };
  const listeners = { asof: [], lang: [], revisions: [] };
  const lang = () => (window.lapis && window.lapis.lang === "en" ? "en" : "vi");
  const tx = (key) => TEXT[lang()][key];
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;", "'": "&#39;" }[c]));

  function when(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? String(iso)
      : date.toLocaleString(lang() === "en" ? "en-GB" : "vi-VN", { dateStyle: "medium", timeStyle: "medium" });
  }

  async function getJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/json, application/geo+json" } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(body.detail || body.title || `HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  /* The name of a feature (or of a diff entry) in the viewer's language. */
  function nameOf(props) {
    if (!props) return "";
    const vi = props.name_vi || props.name, en = props.name_en;
    return (lang() === "en" ? en || vi : vi || en) || props.code || "";
  }

  function layerTitle(id) {
    if (tx("layers")[id]) return tx("layers")[id];
    const groups = (window.lapis && window.lapis.map && window.lapis.map.getStyle().metadata || {})["lapis:groups"];
    const group = (groups || []).find((g) => g.id === id);
    return group ? group.label : id;
  }

  /* Calls back with the map once map.js has made it. */
  function whenMap(callback) {
    const map = window.lapis && window.lapis.map;
    if (map) callback(map); else setTimeout(() => whenMap(callback), 50);
  }

  /* A GeoJSON overlay drawn above the plan: `layers` are MapLibre layers without their source. Drawn again when a
     language switch replaces the style (and with it every layer the style does not name). */
  function overlay(id, layers) {
    let data = { type: "FeatureCollection", features: [] };
    const add = (map) => {
      if (map.getSource(id)) return;
      map.addSource(id, { type: "geojson", data });
      for (const layer of layers) map.addLayer({ ...layer, source: id });
    };
    whenMap((map) => map.on("styledata", () => {
      if (!data.features.length || map.getSource(id)) return;
      try { add(map); } catch (err) { /* a style still loading: its own styledata comes later */ }
    }));
    const apply = (map) => {
      const source = map.getSource(id);
      if (source) { source.setData(data); return; }
      try { add(map); } catch (err) { map.once("styledata", () => apply(map)); }  // the style is still loading
    };
    return {
      set(next) { data = next || { type: "FeatureCollection", features: [] }; whenMap(apply); },
      get data() { return data; },
    };
  }

  /* The map's padding that keeps a fitted shape clear of the panels over it (when the window leaves room). */
  function clearOfPanels() {
    const width = window.innerWidth;
    const left = document.getElementById("panel").getBoundingClientRect().right + 20;
    const right = width - document.getElementById("history-panel").getBoundingClientRect().left + 20;
    const room = width - left - right > 200;
    return { top: 60, bottom: 60, left: room ? left : 40, right: room ? right : 40 };
  }

  function fitTo(geojson) {
    const box = window.lapisBounds(geojson);  // bounds.js
    if (!box) return;
    const pad = box[0] === box[2] && box[1] === box[3] ? 0.01 : 0;  // a point: the area around it
    window.lapis.map.fitBounds([[box[0] - pad, box[1] - pad], [box[2] + pad, box[3] + pad]],
      { padding: clearOfPanels(), maxZoom: 14 });
  }

  /* Every [data-hist] element inside `root` shows its text in the current language. */
  function translate(root) {
    for (const el of (root || document).querySelectorAll("[data-hist]")) el.textContent = tx(el.dataset.hist);
  }

  function buildPanel() {
    const panel = document.createElement("aside");
    panel.id = "history-panel";
    panel.setAttribute("aria-label", "history");
    panel.innerHTML = `<h2 class="panel-title" data-hist="panel"></h2>
      <div id="hist-asof"></div><div id="hist-compare"></div><div id="hist-feature"></div>`;
    document.body.appendChild(panel);
    const banner = document.createElement("div");
    banner.id = "asof-banner";
    banner.setAttribute("role", "status");
    banner.hidden = true;
    banner.innerHTML = `<span data-hist="viewing"></span> <strong id="asof-banner-when"></strong>
      <span id="asof-banner-revision"></span> <button type="button" id="asof-banner-now" data-hist="backToNow"></button>`;
    document.body.appendChild(banner);
    translate(panel);
    translate(banner);
  }

  /* The instant the plan is shown at (an RFC 3339 text exactly as the server gave it, or null for now). */
  function setAsOf(asof, revision) {
    state.asof = asof || null;
    state.asofRevision = asof ? revision || null : null;
    if (window.lapis) window.lapis.asof = state.asof;  // map.js: /locate answers as of it too
    emit("asof", state.asof);
  }

  /* Events between the modules: "asof" (the instant shown changed), "lang", "revisions" (the list has come). */
  function emit(name, ...args) {
    for (const callback of listeners[name]) callback(...args);
  }

  function start() {
    buildPanel();
    for (const b of document.querySelectorAll("[data-lang]")) {
      // map.js switches the language in its own click handler: follow once it has
      b.addEventListener("click", () => setTimeout(() => {
        translate(document.getElementById("history-panel"));
        translate(document.getElementById("asof-banner"));
        emit("lang", lang());
      }, 0));
    }
  }

  window.lapisHistory = {
    state, tx, esc, when, getJSON, nameOf, layerTitle, whenMap, overlay, fitTo, translate, setAsOf, lang,
    emit, on: (name, callback) => listeners[name].push(callback),
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
