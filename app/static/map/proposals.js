/* The map's edit mode, part 3: proposals. An editor sees their open proposal (what they changed, not yet published)
   listed and drawn over the map; an approver sees every proposal waiting for a decision, previews one on the map,
   and publishes or rejects it. The preview is a GeoJSON overlay of the proposal's changes (new and changed features in
   orange, deleted ones dashed red): the plan's tiles keep showing only what is published. After a publish the tiles
   are fetched again under the new data version. */
(function () {
  "use strict";

  const edit = window.lapisEdit;
  const api = window.lapisApi;
  const text = () => window.lapisEditText;
  const t = (key) => text().t(key);
  const esc = (s) => text().esc(s);
  const $ = (sel) => document.querySelector(sel);
  const SOURCE = "lapis-proposal";
  const PLAN_SOURCE = "plan";

  const pr = { mine: null, mineChanges: [], pending: [], previewed: null, overlay: null, message: null, busy: false,
    notes: {} };  // notes: the reasons for rejecting being typed, by proposal id (kept across renders)
  edit.proposals = pr;

  function buildSections() {
    const mine = document.createElement("div");
    mine.id = "edit-proposal";
    mine.innerHTML = `<h3 data-edit="myProposal"></h3><div id="edit-proposal-body"></div>`;
    $("#edit-tools").appendChild(mine);
    const pending = document.createElement("div");
    pending.id = "proposals";
    pending.hidden = true;
    pending.innerHTML = `<h3><span data-edit="pending"></span>
        <button type="button" id="proposals-refresh" data-edit="refresh"></button></h3>
      <ul id="proposals-list"></ul><div id="proposals-message" role="status" aria-live="polite"></div>`;
    $("#edit-session").appendChild(pending);
    $("#proposals-refresh").addEventListener("click", refresh);
  }


  /* The editor's own open proposal and, for an approver, every open one. */
  async function refresh() {
    if (!edit.atLeast("editor")) return;
    pr.busy = true;
    try {
      pr.pending = await api.proposals("state=open");
      pr.mine = pr.pending.find((p) => p.author === edit.session.user) || null;
      edit.myProposal = pr.mine;
      pr.mineChanges = pr.mine ? (await api.proposal(pr.mine.id)).changes : [];
      if (!pr.previewed || !pr.pending.some((p) => p.id === pr.previewed)) pr.previewed = pr.mine ? pr.mine.id : null;
      await preview(pr.previewed);
    } catch (err) {
      pr.message = { kind: "error", text: `${t("failed")}: ${err.message}` };
    } finally {
      pr.busy = false;
      render();
    }
  }

  /* Draws proposal `id`'s changed features over the map (none: clears the overlay). */
  async function preview(id) {
    pr.previewed = id;
    const features = id == null ? [] : (await api.proposalFeatures(id)).features.map((f) => ({
      type: "Feature", geometry: f.geometry, properties: { layer: f.properties["lapis:layer"],
        feature_id: f.properties["lapis:featureId"], op: f.properties["lapis:op"], proposal: id } }));
    pr.overlay = { type: "FeatureCollection", features: features.filter((f) => f.geometry) };
    drawOverlay();
    render();
  }

  function drawOverlay() {
    const map = window.lapis && window.lapis.map;
    if (!map || !pr.overlay) return;
    if (!map.isStyleLoaded()) { map.once("idle", drawOverlay); return; }
    const source = map.getSource(SOURCE);
    if (source) { source.setData(pr.overlay); return; }
    map.addSource(SOURCE, { type: "geojson", data: pr.overlay });
    const deleted = ["==", ["get", "op"], "delete"];
    const polygon = ["match", ["geometry-type"], ["Polygon", "MultiPolygon"], true, false];
    const point = ["match", ["geometry-type"], ["Point", "MultiPoint"], true, false];
    const colour = ["case", deleted, "#b91c1c", "#ea580c"];
    map.addLayer({ id: `${SOURCE}-fill`, type: "fill", source: SOURCE,
      filter: ["all", polygon, ["!", deleted]],
      paint: { "fill-color": "#f97316", "fill-opacity": 0.35 } });
    map.addLayer({ id: `${SOURCE}-line`, type: "line", source: SOURCE, filter: ["!", point],
      paint: { "line-color": colour, "line-width": 2.5 } });
    map.addLayer({ id: `${SOURCE}-deleted`, type: "line", source: SOURCE, filter: ["all", deleted, ["!", point]], paint: { "line-color": "#fff", "line-width": 1.5, "line-dasharray": [2, 2] } });
    map.addLayer({ id: `${SOURCE}-point`, type: "circle", source: SOURCE, filter: point,
      paint: { "circle-radius": 6, "circle-color": colour, "circle-stroke-color": "#fff", "circle-stroke-width": 1.5 } });
  }

  /* The plan's tiles again, under the data version a publish moved to (the TileJSON stamps it in the URL). */
  async function refreshTiles() {
    const source = window.lapis.map && window.lapis.map.getSource(PLAN_SOURCE);
    if (!source || typeof source.setTiles !== "function" || new URLSearchParams(location.search).get("pmtiles")) return;
    try { source.setTiles((await api.tilejson()).tiles); } catch (err) { console.warn("tiles:", err); }
  }

  async function decide(id, action) {
    const note = (pr.notes[id] || "").trim();
    pr.busy = true;
    pr.message = null;
    render();
    try {
      if (action === "publish") await api.publish(id);
      else await api.reject(id, note);
      pr.message = { kind: "ok", text: `#${id}: ${t(action === "publish" ? "published" : "rejected")}.` };
      if (pr.previewed === id) pr.previewed = null;
      if (action === "publish") await refreshTiles();
      document.dispatchEvent(new CustomEvent("lapis:decided", { detail: { id, action } }));
    } catch (err) {
      pr.message = { kind: err.status === 409 || err.status === 412 ? "conflict" : "error",
        text: `${t("failed")}: ${err.message}` };
    }
    pr.busy = false;
    await refresh();
  }

  function changeRows(changes) {
    const ops = t("ops");
    return changes.map((c) => `<li data-op="${esc(c.op)}">${esc(ops[c.op] || c.op)} · `
      + `${esc(text().layerName(c.layer))} #${esc(c.featureId)}</li>`).join("");
  }

  function renderMine() {
    const body = $("#edit-proposal-body");
    if (!pr.mine) { body.innerHTML = `<p class="hint">${esc(t("noProposal"))}</p>`; return; }
    const checked = pr.previewed === pr.mine.id ? " checked" : "";
    body.innerHTML = `<p data-proposal="${esc(pr.mine.id)}">#${esc(pr.mine.id)} ${esc(pr.mine.title || "")}
        (${pr.mineChanges.length} ${esc(t("changes"))})</p>
      <ul class="changes">${changeRows(pr.mineChanges)}</ul>
      <label class="row"><input type="checkbox" id="edit-proposal-preview"${checked}> ${esc(t("preview"))}</label>`;
    $("#edit-proposal-preview").addEventListener("change", (e) => preview(e.target.checked ? pr.mine.id : null));
  }

  function renderPending() {
    const box = $("#proposals");
    box.hidden = !edit.atLeast("approver");
    if (box.hidden) return;
    const list = $("#proposals-list");
    if (!pr.pending.length) list.innerHTML = `<li class="hint">${esc(t("noPending"))}</li>`;
    else {
      list.innerHTML = pr.pending.map((p) => {
        const n = p.changes;
        return `<li data-proposal="${esc(p.id)}"${pr.previewed === p.id ? ' class="previewed"' : ""}>
          <b>#${esc(p.id)}</b> ${esc(p.title || "")} — ${esc(t("by"))} ${esc(p.author)}${n == null ? "" : ` (${n} ${esc(t("changes"))})`}
          <div class="edit-buttons">
            <button type="button" data-action="preview">${esc(t("preview"))}</button>
            <button type="button" data-action="publish"${pr.busy ? " disabled" : ""}>${esc(t("publish"))}</button>
            <button type="button" data-action="reject"${pr.busy ? " disabled" : ""}>${esc(t("reject"))}</button>
          </div>
          <input type="text" id="proposal-note-${esc(p.id)}" placeholder="${esc(t("rejectNote"))}"
            value="${esc(pr.notes[p.id] || "")}"></li>`;
      }).join("");
    }
    for (const input of list.querySelectorAll("input[id^=proposal-note-]")) {
      input.addEventListener("input", () => { pr.notes[input.closest("li").dataset.proposal] = input.value; });
    }
    for (const b of list.querySelectorAll("button[data-action]")) {
      const id = Number(b.closest("li").dataset.proposal);
      b.addEventListener("click", () => (b.dataset.action === "preview"
        ? preview(id).catch((err) => { pr.message = { kind: "error", text: err.message }; render(); })
        : decide(id, b.dataset.action)));
    }
    const m = $("#proposals-message");
    m.innerHTML = pr.message ? `<p class="${pr.message.kind}">${esc(pr.message.text)}</p>` : "";
    m.dataset.kind = pr.message ? pr.message.kind : "";
  }

  function render() {
    if (!$("#edit-proposal")) return;
    text().translate($("#edit-proposal"));
    text().translate($("#proposals"));
    renderMine();
    renderPending();
  }

  function onSession() {
    pr.mine = null; pr.mineChanges = []; pr.pending = []; pr.message = null; edit.myProposal = null;
    if (edit.atLeast("editor")) refresh(); else preview(null);
    render();
  }

  function start() {
    buildSections();
    render();
    document.addEventListener("lapis:session", onSession);
    document.addEventListener("lapis:edited", refresh);
    document.addEventListener("lapis:imported", refresh);
    document.addEventListener("lapis:lang", render);
    const attach = () => {
      const map = window.lapis && window.lapis.map;
      if (!map) { setTimeout(attach, 50); return; }
      // a language switch replaces the style, and with it this overlay: draw it again
      map.on("styledata", () => { if (pr.overlay && !map.getSource(SOURCE)) drawOverlay(); });
    };
    attach();
  }

  Object.assign(edit, { refreshProposals: refresh, previewProposal: preview });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
