/* The map's edit mode, part 2: editing features of one layer with Mapbox GL Draw (served by the app from
   node_modules; it drives MapLibre GL JS the same way). Pick a layer; draw a new feature of the layer's geometry
   type, or click one on the map to move its vertices and edit its attributes in a form made from the layer's schema;
   save (POST, or PATCH as a JSON Merge Patch) or delete it. Every write sends `If-Match` with the ETag the feature
   was read with: a 412 means someone changed it meanwhile, so the latest version is loaded again and the editor is
   told; a 409 that another proposal holds it; a 422 why the data was refused. Writes land in the editor's proposal
   (proposals.js shows it on the map), never straight in the published plan. */
(function () {
  "use strict";

  const edit = window.lapisEdit;
  const api = window.lapisApi;
  const form = window.lapisEditForm;
  const text = () => window.lapisEditText;
  const t = (key) => text().t(key);
  const $ = (sel) => document.querySelector(sel);

  const KINDS = { MultiPolygon: ["polygon"], Polygon: ["polygon"], MultiLineString: ["line"], LineString: ["line"],
    MultiPoint: ["point"], Point: ["point"], Geometry: ["polygon", "line", "point"] };
  const MODES = { polygon: "draw_polygon", line: "draw_line_string", point: "draw_point" };
  const LABELS = { polygon: "drawPolygon", line: "drawLine", point: "drawPoint" };
  const PREVIEW_SOURCE = "lapis-proposal";  // proposals.js: the proposal's changes drawn over the map
  const st = { layers: [], layer: null, schema: null, feature: null, message: null, busy: false, confirming: false };
  edit.editor = st;
  let draw = null;
  let lastDrawEvent = 0;  // the click that ends a drawing reaches the map too: it must not pick a feature
  const CLICK_AFTER_DRAW_MS = 300;

  function buildTools() {
    $("#edit-tools").innerHTML = `
      <label class="row"><span data-edit="layer"></span><br><select id="edit-layer"></select></label>
      <div class="edit-buttons" id="edit-draw"></div>
      <p class="hint" id="edit-hint"></p>
      <form id="edit-feature" hidden novalidate>
        <h3 id="edit-feature-title"></h3>
        <div id="edit-fields"></div>
        <div class="edit-buttons">
          <button type="submit" id="edit-save" data-edit="save"></button>
          <button type="button" id="edit-delete" data-edit="delete"></button>
          <button type="button" id="edit-cancel" data-edit="cancel"></button>
        </div>
        <p id="edit-confirm" hidden><span data-edit="confirmDelete"></span><br>
          <button type="button" id="edit-delete-yes" data-edit="delete"></button>
          <button type="button" id="edit-delete-no" data-edit="cancel"></button></p>
      </form>
      <div id="edit-message" role="status" aria-live="polite"></div>`;
    $("#edit-layer").addEventListener("change", (e) => selectLayer(e.target.value));
    $("#edit-feature").addEventListener("submit", (e) => { e.preventDefault(); save(); });
    $("#edit-cancel").addEventListener("click", () => { clearFeature(); st.message = null; render(); });
    $("#edit-delete").addEventListener("click", () => { st.confirming = true; render(); });
    $("#edit-delete-no").addEventListener("click", () => { st.confirming = false; render(); });
    $("#edit-delete-yes").addEventListener("click", remove);
  }

  const layerType = () => (st.layers.find((c) => c.id === st.layer) || {}).geometryType || "Geometry";
  const say = (kind, message) => { st.message = { kind, text: message }; };

  function ensureDraw() {
    if (draw) return draw;
    const C = MapboxDraw.constants.classes;  // MapLibre's class names where Mapbox GL's are expected
    Object.assign(C, { CANVAS: "maplibregl-canvas", CONTROL_BASE: "maplibregl-ctrl",
      CONTROL_PREFIX: "maplibregl-ctrl-", CONTROL_GROUP: "maplibregl-ctrl-group", ATTRIBUTION: "maplibregl-ctrl-attrib" });
    draw = new MapboxDraw({ displayControlsDefault: false, boxSelect: false, userProperties: false });
    const map = window.lapis.map;
    map.addControl(draw);
    map.on("draw.create", (e) => onDrawn(e, true));
    map.on("draw.update", (e) => onDrawn(e, false));
    map.on("draw.modechange", () => { lastDrawEvent = performance.now(); render(); });
    edit.draw = draw;
    return draw;
  }

  function onDrawn(e, created) {
    lastDrawEvent = performance.now();
    const drawn = e.features[0];
    if (!st.feature || !drawn) return;
    st.feature.drawn = drawn.geometry;
    if (created && drawn.geometry.type !== "Point") {  // straight on to moving its vertices
      setTimeout(() => draw.changeMode("direct_select", { featureId: drawn.id }), 0);
    }
    render();
  }

  async function loadLayers() {
    try {
      // reference layers (administrative units) are replaced by reloads, never edited: the API marks them
      st.layers = (await api.collections()).filter((c) => c.geometryType && c["lapis:editable"] !== false);
    } catch (err) {
      say("error", `${t("failed")}: ${err.message}`);
    }
    render();
  }

  async function selectLayer(id) {
    clearFeature();
    st.layer = id || null;
    st.schema = null;
    st.message = null;
    if (st.layer) {
      window.lapis.onClick = onMapClick;  // clicks pick features to edit (check.js takes them back when turned on)
      ensureDraw();
      try { st.schema = await api.schema(st.layer); } catch (err) { say("error", `${t("failed")}: ${err.message}`); }
    } else if (window.lapis.onClick === onMapClick) window.lapis.onClick = null;
    render();
  }

  function clearFeature() {
    st.feature = null;
    st.confirming = false;
    if (draw) { draw.deleteAll(); draw.changeMode("simple_select"); }
  }

  function startDrawing(kind) {
    if (!st.schema) return;
    clearFeature();
    st.message = null;
    st.feature = { id: null, etag: null, properties: {}, geometry: null, drawn: null };
    form.render($("#edit-fields"), st.schema, {});
    draw.changeMode(MODES[kind]);
    render();
  }

  /* A click on the map in edit mode: the feature of the chosen layer under it (published, from the tiles, or in the
     proposal's preview) opens for editing. Clicks while drawing, or on the feature being edited, are the drawing's. */
  function onMapClick(lngLat) {
    if (!st.layer || !draw || draw.getMode().startsWith("draw_")) return;
    if (performance.now() - lastDrawEvent < CLICK_AFTER_DRAW_MS || unsaved()) return;
    const map = window.lapis.map;
    const p = map.project(lngLat);
    if (st.feature && draw.getFeatureIdsAt(p).length) return;
    const hits = map.queryRenderedFeatures([[p.x - 4, p.y - 4], [p.x + 4, p.y + 4]]).filter((f) =>
      (f.sourceLayer === st.layer && f.id != null)
      || (f.source === PREVIEW_SOURCE && f.properties.layer === st.layer && f.properties.op !== "delete"));
    if (!hits.length) return;
    const hit = hits.find((f) => f.source === PREVIEW_SOURCE) || hits[0];
    openFeature(hit.source === PREVIEW_SOURCE ? hit.properties.feature_id : hit.id);
  }

  /* A drawing not saved yet, or a feature whose shape or attributes changed: a click elsewhere must not drop it
     (Save or Cancel first). */
  function unsaved() {
    const f = st.feature;
    if (!f) return false;
    if (f.id == null) return Boolean(f.drawn);
    return JSON.stringify(f.drawn) !== JSON.stringify(f.geometry)
      || Object.keys(form.changes($("#edit-fields"), f.properties)).length > 0;
  }

  /* Loads feature `fid` (as the editor's proposal has it, when it does) with its ETag, into the drawing and form. */
  async function openFeature(fid, keepMessage = false) {
    st.busy = true;
    if (!keepMessage) st.message = null;
    render();
    try {
      const { feature, etag } = await api.item(st.layer, fid, edit.myProposal && edit.myProposal.id);
      clearFeature();
      st.feature = { id: feature.id ?? fid, etag, properties: feature.properties || {}, geometry: feature.geometry,
        drawn: feature.geometry };
      form.render($("#edit-fields"), st.schema, st.feature.properties);
      showInDraw(feature.geometry, st.feature.id);
    } catch (err) {
      clearFeature();
      say("error", err.status === 404 ? t("gone") : `${t("failed")}: ${err.message}`);
    } finally {
      st.busy = false;
      render();
    }
  }

  function showInDraw(geometry, fid) {
    const [id] = draw.add({ type: "Feature", id: `feature-${fid}`, properties: {}, geometry });
    if (geometry.type === "Point") draw.changeMode("simple_select", { featureIds: [id] });
    else draw.changeMode("direct_select", { featureId: id });
  }

  /* A Polygon drawn for a MultiPolygon layer (and so on) is sent as the layer's type. */
  function asLayerGeometry(geometry) {
    const type = layerType();
    return type.startsWith("Multi") && geometry.type === type.slice(5)
      ? { type, coordinates: [geometry.coordinates] } : geometry;
  }

  async function save() {
    const f = st.feature;
    if (!f || st.busy || !form.valid($("#edit-fields"))) return;
    if (!f.drawn || draw.getMode().startsWith("draw_")) { say("error", t("noGeometry")); render(); return; }
    st.busy = true;
    say("info", t("saving"));
    render();
    try {
      if (f.id == null) await create(f); else await update(f);
      say("ok", `${t("saved")}.`);
      changed();
    } catch (err) {
      await failed(err);
    } finally {
      st.busy = false;
      render();
    }
  }

  async function create(f) {
    const properties = Object.fromEntries(Object.entries(form.values($("#edit-fields"))).filter(([, v]) => v !== null));
    const created = await api.create(st.layer, { type: "Feature", geometry: asLayerGeometry(f.drawn), properties });
    written(f, created, created.id);
  }

  async function update(f) {
    const patch = {};
    const properties = form.changes($("#edit-fields"), f.properties);
    if (Object.keys(properties).length) patch.properties = properties;
    if (JSON.stringify(f.drawn) !== JSON.stringify(f.geometry)) patch.geometry = asLayerGeometry(f.drawn);
    if (!Object.keys(patch).length) return;
    written(f, await api.patch(st.layer, f.id, f.etag, patch), f.id);
  }

  /* After a write: the feature as the proposal now holds it (its new ETag, its stored values and shape), drawn
     again from the server's answer, and the proposal it went into. */
  function written(f, result, fid) {
    const feature = result.feature || {};
    Object.assign(f, { id: feature.id ?? fid, etag: result.etag, properties: feature.properties || f.properties,
      geometry: feature.geometry || f.drawn, drawn: feature.geometry || f.drawn });
    if (result.proposal != null) edit.myProposal = { ...(edit.myProposal || {}), id: result.proposal };
    draw.deleteAll();
    form.render($("#edit-fields"), st.schema, f.properties);
    showInDraw(f.geometry, f.id);
  }

  async function remove() {
    const f = st.feature;
    if (!f || f.id == null || st.busy) return;
    st.busy = true;
    st.confirming = false;
    render();
    try {
      await api.remove(st.layer, f.id, f.etag);
      clearFeature();
      say("ok", `${t("deleted")}.`);
      changed();
    } catch (err) {
      await failed(err);
    } finally {
      st.busy = false;
      render();
    }
  }

  /* What a refused write means for the editor: a conflict reloads the feature; the rest say why. */
  async function failed(err) {
    if (err.status === 412 && st.feature && st.feature.id != null) {
      await openFeature(st.feature.id, true);
      say("conflict", t("conflict"));
    } else if (err.status === 409) say("conflict", `${t("held")} ${err.message}`);
    else if (err.status === 422 || err.status === 400) say("error", `${t("invalid")}: ${err.message}`);
    else if (err.status === 401) say("error", t("badToken"));
    else say("error", `${t("failed")}: ${err.message}`);
  }

  function changed() {
    document.dispatchEvent(new CustomEvent("lapis:edited", { detail: { layer: st.layer } }));
  }

  function renderLayers() {
    const select = $("#edit-layer");
    const options = st.layers.map((c) => `<option value="${text().esc(c.id)}"${c.id === st.layer ? " selected" : ""}>`
      + `${text().esc(text().layerName(c.id, c.title))}</option>`);
    select.innerHTML = `<option value="">${text().esc(t("chooseLayer"))}</option>${options.join("")}`;
  }

  function renderDrawButtons() {
    const box = $("#edit-draw");
    const kinds = st.layer && st.schema ? KINDS[layerType()] || KINDS.Geometry : [];
    box.innerHTML = kinds.map((k) => `<button type="button" data-draw="${k}">${text().esc(t(LABELS[k]))}</button>`).join("");
    const mode = draw ? draw.getMode() : "";
    for (const b of box.querySelectorAll("button")) {
      b.classList.toggle("active", mode === MODES[b.dataset.draw]);
      b.disabled = st.busy;
      b.addEventListener("click", () => startDrawing(b.dataset.draw));
    }
  }

  function render() {
    if (!$("#edit-layer")) return;
    text().translate($("#edit-tools"));
    renderLayers();
    renderDrawButtons();
    const f = st.feature;
    const drawing = Boolean(draw && draw.getMode().startsWith("draw_"));
    $("#edit-hint").textContent = !st.layer ? "" : drawing ? t("hintDraw") : f ? t("hintEdit") : t("hintPick");
    $("#edit-feature").hidden = !f;
    if (f) {
      $("#edit-feature-title").textContent = f.id == null ? t("newFeature") : `${t("feature")} #${f.id}`;
      form.relabel($("#edit-fields"));
    }
    $("#edit-delete").hidden = !f || f.id == null;
    $("#edit-confirm").hidden = !st.confirming;
    $("#edit-save").disabled = st.busy;
    const box = $("#edit-message");
    box.innerHTML = st.message ? `<p class="${st.message.kind}">${text().esc(st.message.text)}</p>` : "";
    box.dataset.kind = st.message ? st.message.kind : "";
  }

  function onSession(e) {
    if (["editor", "approver", "admin"].includes(e.detail.role)) {
      if (!st.layers.length) loadLayers(); else render();
      return;
    }
    selectLayer("");
    st.layers = [];
    render();
  }

  function start() {
    buildTools();
    render();
    document.addEventListener("lapis:session", onSession);
    document.addEventListener("lapis:lang", render);
  }

  Object.assign(edit, { openFeature, selectLayer, startDrawing, save, renderEditor: render });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
