/* A feature's history on the LAPIS map: a click on the map (unless another mode has the clicks) lists the plan's
   features under it and opens the first one's timeline — every version, newest first, when, who, what and why, from
   GET /collections/{id}/items/{featureId}/history. Picking a version draws its geometry on the map. While the map
   shows an earlier instant, the feature as it stood then (the item with `asof=`) is shown above the timeline. */
(function () {
  "use strict";

  const H = window.lapisHistory;
  const state = H.state;
  const SOURCE = "plan";
  const COLOUR = "#7c3aed";
  const PAGE = 100;  // versions per request (state.pageSize, when set, instead)
  const polygons = ["match", ["geometry-type"], ["Polygon", "MultiPolygon"], true, false];
  const points = ["match", ["geometry-type"], ["Point", "MultiPoint"], true, false];
  const $ = (sel) => document.querySelector(sel);
  const drawing = H.overlay("lapis-history", [
    { id: "lapis-history-fill", type: "fill", filter: polygons, paint: { "fill-color": COLOUR, "fill-opacity": 0.3 } },
    { id: "lapis-history-line", type: "line", filter: ["!", points],
      paint: { "line-color": COLOUR, "line-width": 3, "line-dasharray": [2, 1] } },
    { id: "lapis-history-point", type: "circle", filter: points,
      paint: { "circle-color": COLOUR, "circle-radius": 7, "circle-stroke-color": "#fff", "circle-stroke-width": 2 } },
  ]);
  let sequence = 0;  // the latest feature asked for: answers about earlier ones are dropped

  const itemPath = (f) => `/collections/${encodeURIComponent(f.layer)}/items/${encodeURIComponent(f.id)}`;

  function buildSection() {
    $("#hist-feature").innerHTML = `<details open><summary data-hist="featureHistory"></summary>
      <p class="hint" id="history-hint" data-hist="pickHint"></p>
      <div id="history-here"></div><div id="history-feature" aria-live="polite"></div></details>`;
    H.translate($("#hist-feature"));
    $("#history-here").addEventListener("click", (e) => {
      const button = e.target.closest("button[data-layer]");
      if (button) open(button.dataset.layer, Number(button.dataset.id));
    });
    $("#history-feature").addEventListener("click", (e) => {
      if (e.target.closest("#history-close")) { close(); return; }
      if (e.target.closest("#history-older")) { loadOlder(); return; }
      const item = e.target.closest("li[data-version]");
      if (item) pickVersion(Number(item.dataset.version));
    });
  }

  /* The plan's features under a click (a few pixels around it: lines and points are thin), topmost first. */
  function featuresAt(map, point) {
    const box = [[point.x - 4, point.y - 4], [point.x + 4, point.y + 4]];
    const seen = new Set();
    const found = [];
    for (const f of map.queryRenderedFeatures(box)) {
      if (f.source !== SOURCE || f.id === undefined || f.id === null) continue;
      const key = `${f.sourceLayer}/${f.id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      found.push({ layer: f.sourceLayer, id: f.id, properties: f.properties });
    }
    return found;
  }

  function onClick(map, e) {
    if (window.lapis.onClick) return;  // the check or the edit mode has the clicks
    state.here = featuresAt(map, e.point);
    renderHere();
    if (state.here.length) open(state.here[0].layer, state.here[0].id); else close();
  }

  function renderHere() {
    const here = state.here || [];
    $("#history-here").innerHTML = here.length > 1 ? `<h3 data-hist="here"></h3><ul class="history-here">${here.map((f) => {
      const current = state.feature && state.feature.layer === f.layer && state.feature.id === f.id;
      return `<li><button type="button" data-layer="${H.esc(f.layer)}" data-id="${H.esc(f.id)}"${current ? ' class="active"' : ""}>`
        + `${H.esc(H.nameOf(f.properties) || `#${f.id}`)} <span class="layer">${H.esc(H.layerTitle(f.layer))}</span></button></li>`;
    }).join("")}</ul>` : "";
    H.translate($("#history-here"));
  }

  async function open(layer, id) {
    const seq = ++sequence;
    Object.assign(state, { feature: { layer, id }, versions: [], then: undefined, loading: true, error: null,
      selected: null, drawn: null, older: null });
    drawing.set(null);
    renderHere();
    render();
    try {
      const body = await H.getJSON(`${itemPath(state.feature)}/history?limit=${state.pageSize || PAGE}`);
      if (seq !== sequence) return;
      state.versions = body.features || [];
      state.matched = body.numberMatched;
      state.older = nextLink(body);
    } catch (err) {
      if (seq === sequence) state.error = err.message;
    }
    await loadThen(seq);
    if (seq !== sequence) return;
    state.loading = false;
    render();
  }

  const nextLink = (body) => ((body.links || []).find((link) => link.rel === "next") || {}).href || null;

  /* The next page of versions (a feature changed more than a page's worth of times). */
  async function loadOlder() {
    const seq = sequence;
    try {
      const body = await H.getJSON(state.older);
      if (seq !== sequence) return;
      state.versions = state.versions.concat(body.features || []);
      state.older = nextLink(body);
    } catch (err) {
      if (seq === sequence) state.error = err.message;
    }
    render();
  }

  /* The feature as the plan had it at the instant shown (undefined: showing now; null: it did not exist then). */
  async function loadThen(seq) {
    if (!state.feature || !state.asof) { state.then = undefined; return; }
    let then;
    try {
      then = await H.getJSON(`${itemPath(state.feature)}?asof=${encodeURIComponent(state.asof)}`);
    } catch (err) {
      then = err.status === 404 ? null : undefined;
    }
    if (seq === sequence) state.then = then;
  }

  function close() {
    sequence++;
    Object.assign(state, { feature: null, versions: [], then: undefined, selected: null, drawn: null, here: [] });
    drawing.set(null);
    renderHere();
    render();
  }

  function pickVersion(number) {
    const version = state.versions.find((f) => f.version.number === number);
    if (!version) return;
    state.selected = number;
    state.drawn = version.geometry ? { type: "Feature", id: version.id, geometry: version.geometry,
      properties: { ...version.properties, version: number } } : null;
    drawing.set(state.drawn ? { type: "FeatureCollection", features: [state.drawn] } : null);
    if (state.drawn) H.fitTo(state.drawn);
    render();
  }

  const validThen = (v) => state.asof && new Date(v.valid_from) <= new Date(state.asof)
    && (!v.valid_to || new Date(state.asof) < new Date(v.valid_to));

  function versionHtml(f) {
    const v = f.version;
    const classes = [v.number === state.selected && "selected", !v.valid_to && "current", validThen(v) && "valid-then"];
    const meta = [[H.tx("who"), v.who], [H.tx("reason"), v.reason], [H.tx("proposal"), v.proposal]]
      .filter(([, value]) => value !== null && value !== undefined && value !== "")
      .map(([key, value]) => `<dt>${H.esc(key)}</dt><dd>${H.esc(value)}</dd>`).join("");
    const marks = [!v.valid_to && H.tx("current"), validThen(v) && H.tx("validAt"),
      v.number === state.selected && f.geometry && H.tx("shown")].filter(Boolean);
    return `<li data-version="${v.number}" data-operation="${H.esc(v.operation)}" class="${classes.filter(Boolean).join(" ")}"
        tabindex="0" title="${H.esc(f.geometry ? H.tx("show") : "")}">
      <div><span class="op op-${H.esc(v.operation)}">${H.esc(H.tx("operations")[v.operation] || v.operation)}</span>
        <time datetime="${H.esc(v.valid_from)}">${H.esc(H.when(v.valid_from))}</time>
        <small>${H.esc(H.tx("version"))} ${v.number}</small></div>
      ${f.properties ? `<div class="name">${H.esc(H.nameOf(f.properties))}</div>` : ""}
      ${marks.length ? `<div class="marks">${H.esc(marks.join(" · "))}</div>` : ""}
      ${meta ? `<dl>${meta}</dl>` : ""}</li>`;
  }

  function thenHtml() {
    if (state.then === undefined) return "";
    const body = state.then
      ? `${H.esc(H.nameOf(state.then.properties))}${state.then.properties && state.then.properties.code
        ? ` <small>(${H.esc(state.then.properties.code)})</small>` : ""}` : H.esc(H.tx("absentThen"));
    return `<div id="history-then" class="then${state.then ? "" : " absent"}"><strong>${H.esc(H.tx("asThen"))}`
      + ` (${H.esc(H.when(state.asof))}):</strong> ${body}</div>`;
  }

  function render() {
    $("#history-hint").hidden = Boolean(state.feature);
    const root = $("#history-feature");
    if (!state.feature) { root.innerHTML = ""; return; }
    const latest = state.versions.find((f) => f.properties) || (state.here || []).find((f) =>
      f.layer === state.feature.layer && f.id === state.feature.id);
    const title = `${H.layerTitle(state.feature.layer)} · ${H.nameOf(latest && latest.properties) || `#${state.feature.id}`}`;
    const head = `<div class="history-head"><strong>${H.esc(title)}</strong>
      <button type="button" id="history-close" aria-label="${H.esc(H.tx("close"))}">×</button></div>`;
    let body;
    if (state.error) body = `<p class="error">${H.esc(H.tx("failed"))}: ${H.esc(state.error)}</p>`;
    else if (state.loading) body = `<p>${H.esc(H.tx("loading"))}</p>`;
    else body = `${thenHtml()}<h3>${H.esc(H.tx("versions"))}</h3>
      <ol id="history-versions">${state.versions.map(versionHtml).join("")}</ol>
      ${state.older ? `<button type="button" id="history-older">${H.esc(H.tx("older"))}</button>` : ""}`;
    root.innerHTML = head + body;
  }

  function start() {
    buildSection();
    H.whenMap((map) => map.on("click", (e) => onClick(map, e)));
    H.on("asof", async () => {
      if (!state.feature) return;
      const seq = sequence;
      await loadThen(seq);
      if (seq === sequence) render();
    });
    H.on("lang", () => { renderHere(); render(); });
    $("#history-feature").addEventListener("keydown", (e) => {  // a version is picked with the keyboard too
      const item = e.target.closest("li[data-version]");
      if (item && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); pickVersion(Number(item.dataset.version)); }
    });
  }

  window.lapisHistory.open = open;
  start();
})();
