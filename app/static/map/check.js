/* "What may be built here?" panel of the LAPIS map: pick a use, then click a point or draw a parcel; the
   answer comes from POST /check (the verdict per overlapped zone, the overall verdict, reasons and sources).
   Drawing is plain MapLibre: clicks add vertices to a GeoJSON source; nothing is loaded from outside. */
(function () {
  "use strict";

  const USES = {
    residential: ["Nhà ở, khu dân cư", "Housing, residential areas"],
    industrial: ["Công nghiệp", "Industry"],
    commercial: ["Thương mại, dịch vụ", "Commerce and services"],
    logistics: ["Cảng, kho bãi, logistics", "Ports, warehousing, logistics"],
    agriculture: ["Nông nghiệp", "Agriculture"],
    tourism: ["Du lịch", "Tourism"],
    border_trade: ["Kinh tế cửa khẩu", "Border-gate trade"],
  };
  const TEXT = {
    vi: { title: "Được xây gì ở đây?", use: "Mục đích sử dụng", on: "Bật kiểm tra", point: "Chọn điểm",
      draw: "Vẽ thửa", finish: "Xong", clear: "Xóa", hintPoint: "Bấm vào bản đồ để kiểm tra một điểm.",
      hintDraw: "Bấm để thêm đỉnh; bấm «Xong» khi đủ (ít nhất 3 đỉnh).", checking: "Đang kiểm tra…",
      failed: "Không kiểm tra được", share: "tỷ lệ", noRule: "chưa có quy tắc", sources: "Nguồn",
      inferred: "Quy tắc suy ra từ mô tả của quy hoạch, không phải quy định chính thức.",
      verdicts: { allowed: "Được phép", conditional: "Có điều kiện", prohibited: "Không được phép",
        unknown: "Chưa xác định", no_rule: "Chưa có quy tắc" } },
    en: { title: "What may be built here?", use: "Proposed use", on: "Check mode", point: "Pick a point",
      draw: "Draw a parcel", finish: "Finish", clear: "Clear", hintPoint: "Click the map to check a point.",
      hintDraw: "Click to add vertices; press Finish when done (3 or more).", checking: "Checking…",
      failed: "Check failed", share: "share", noRule: "no rule", sources: "Sources",
      inferred: "Rules inferred from the plan's description, not official regulations.",
      verdicts: { allowed: "Allowed", conditional: "Conditional", prohibited: "Prohibited", unknown: "Unknown",
        no_rule: "No rule" } },
  };
  const SOURCE = "lapis-check";
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;", "'": "&#39;" }[c]));
  const check = { mode: "point", vertices: [], result: null, error: null, busy: false };

  const lang = () => (window.lapis && window.lapis.lang === "en" ? "en" : "vi");
  const tx = (key) => TEXT[lang()][key];
  const $ = (sel) => document.querySelector(sel);

  function buildSection() {
    const section = document.createElement("section");
    section.id = "check";
    section.innerHTML = `
      <h2 data-check="title"></h2>
      <label class="row"><input type="checkbox" id="check-on"> <span data-check="on"></span></label>
      <label class="row"><span data-check="use"></span><br><select id="check-use"></select></label>
      <div class="check-modes">
        <button type="button" id="check-point" data-check="point"></button>
        <button type="button" id="check-draw" data-check="draw"></button>
        <button type="button" id="check-finish" data-check="finish" disabled></button>
        <button type="button" id="check-clear" data-check="clear"></button>
      </div>
      <p class="hint" id="check-hint"></p>
      <div id="check-result" aria-live="polite"></div>`;
    const note = $("#panel .note");
    note.parentNode.insertBefore(section, note);
    $("#check-point").addEventListener("click", () => setMode("point"));
    $("#check-draw").addEventListener("click", () => setMode("draw"));
    $("#check-finish").addEventListener("click", finishParcel);
    $("#check-clear").addEventListener("click", () => { check.vertices = []; check.result = null; drawShape(null); render(); });
    $("#check-use").addEventListener("change", () => { if (check.last) run(check.last); });
    $("#check-on").addEventListener("change", (e) => {
      window.lapis.onClick = e.target.checked ? onMapClick : null;
      zoomOnDoubleClick(!(e.target.checked && check.mode === "draw"));
      render();
    });
  }

  function setMode(mode) {
    check.mode = mode;
    check.vertices = [];
    $("#check-on").checked = true;
    window.lapis.onClick = onMapClick;
    zoomOnDoubleClick(mode !== "draw");  // quick vertex clicks must not zoom the map
    render();
  }

  function zoomOnDoubleClick(on) {
    const map = window.lapis.map;
    if (map) map.doubleClickZoom[on ? "enable" : "disable"]();
  }

  function render() {
    for (const el of document.querySelectorAll("[data-check]")) el.textContent = tx(el.dataset.check);
    const select = $("#check-use");
    const chosen = select.value || "industrial";
    select.innerHTML = Object.entries(USES)
      .map(([k, names]) => `<option value="${k}"${k === chosen ? " selected" : ""}>${esc(names[lang() === "en" ? 1 : 0])}</option>`)
      .join("");
    $("#check-point").classList.toggle("active", check.mode === "point");
    $("#check-draw").classList.toggle("active", check.mode === "draw");
    $("#check-finish").disabled = !(check.mode === "draw" && check.vertices.length >= 3);
    $("#check-hint").textContent = $("#check-on").checked ? tx(check.mode === "draw" ? "hintDraw" : "hintPoint") : "";
    $("#check-result").innerHTML = resultHtml();
  }

  function resultHtml() {
    if (check.busy) return `<p>${esc(tx("checking"))}</p>`;
    if (check.error) return `<p class="error">${esc(tx("failed"))}: ${esc(check.error)}</p>`;
    const r = check.result;
    if (!r) return "";
    const en = lang() === "en";
    const verdicts = tx("verdicts");
    const zones = r.zones.map((z) => `<li><span class="verdict ${esc(z.verdict)}">${esc(verdicts[z.verdict] || z.verdict)}</span>
        ${esc(en ? z.name_en || z.name_vi : z.name_vi)} <small>(${esc(tx("share"))} ${esc(Math.round(z.share_pct * 10) / 10)}%)</small></li>`).join("");
    const reasons = r.reasons.map((x) => `<li>${esc(en ? x.en : x.vi)}</li>`).join("");
    const sources = r.sources.length ? `<p class="sources">${esc(tx("sources"))}: ${r.sources.map(esc).join("; ")}</p>` : "";
    return `<p class="verdict-overall verdict ${esc(r.verdict)}" data-verdict="${esc(r.verdict)}">${esc(verdicts[r.verdict])}</p>
      <ul class="check-zones">${zones}</ul><ul class="check-reasons">${reasons}</ul>${sources}
      ${r.inferred ? `<p class="note">${esc(tx("inferred"))}</p>` : ""}`;
  }

  function onMapClick(lngLat) {
    const at = [Number(lngLat.lng.toFixed(6)), Number(lngLat.lat.toFixed(6))];
    if (check.mode === "point") {
      drawShape({ type: "Point", coordinates: at });
      run({ type: "Point", coordinates: at });
      return;
    }
    check.vertices.push(at);
    drawShape(check.vertices.length >= 3
      ? { type: "Polygon", coordinates: [[...check.vertices, check.vertices[0]]] }
      : { type: "MultiPoint", coordinates: check.vertices });
    render();
  }

  function finishParcel() {
    if (check.vertices.length < 3) return;
    const geometry = { type: "Polygon", coordinates: [[...check.vertices, check.vertices[0]]] };
    check.vertices = [];
    drawShape(geometry);
    run(geometry);
  }

  async function run(geometry) {
    check.last = geometry;
    check.busy = true; check.error = null;
    render();
    try {
      const use = $("#check-use").value;
      const response = await fetch(`/check?use=${encodeURIComponent(use)}`, {
        method: "POST", headers: { "Content-Type": "application/geo+json", Accept: "application/json" },
        body: JSON.stringify({ type: "Feature", geometry, properties: {} }),
      });
      const body = await response.json();
      if (!response.ok) throw new Error(body.detail || body.title || response.statusText);
      check.result = body;
    } catch (err) {
      check.result = null;
      check.error = err.message || String(err);
    } finally {
      check.busy = false;
      render();
    }
  }

  function drawShape(geometry) {
    const map = window.lapis.map;
    check.shape = geometry;
    if (!map) return;
    if (!map.isStyleLoaded()) { map.once("idle", () => drawShape(check.shape)); return; }
    const data = { type: "FeatureCollection", features: geometry ? [{ type: "Feature", geometry, properties: {} }] : [] };
    const source = map.getSource(SOURCE);
    if (source) { source.setData(data); return; }
    map.addSource(SOURCE, { type: "geojson", data });
    map.addLayer({ id: `${SOURCE}-fill`, type: "fill", source: SOURCE, filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": "#ffcc00", "fill-opacity": 0.35 } });
    map.addLayer({ id: `${SOURCE}-line`, type: "line", source: SOURCE, paint: { "line-color": "#b45309", "line-width": 2 } });
    map.addLayer({ id: `${SOURCE}-point`, type: "circle", source: SOURCE, filter: ["!=", ["geometry-type"], "Polygon"],
      paint: { "circle-radius": 5, "circle-color": "#b45309" } });
  }

  function start() {
    buildSection();
    render();
    const attach = () => {
      const map = window.lapis && window.lapis.map;
      if (!map) { setTimeout(attach, 50); return; }
      // a language switch replaces the style, and with it this overlay: draw it again
      map.on("styledata", () => { if (check.shape && !map.getSource(SOURCE)) drawShape(check.shape); });
    };
    attach();
    for (const b of document.querySelectorAll("[data-lang]")) b.addEventListener("click", () => setTimeout(render, 0));
  }

  window.lapisCheck = { state: check, uses: Object.keys(USES), run };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
