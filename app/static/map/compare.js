/* "Compare" on the LAPIS map: two points of the plan's history (revisions, now, or the instant the map shows) →
   GET /revisions/{a}/diff/{b}?f=geojson drawn over the plan — added green, removed red, changed orange (a changed
   geometry's old shape dashed) — with a legend that counts each kind (the diff's summary: every collection counted
   in full) and the list of the changes (attributes old → new, area/length difference, how far the shape moved). */
(function () {
  "use strict";

  const H = window.lapisHistory;
  const state = H.state;
  const COLOURS = { added: "#16a34a", removed: "#dc2626", changed: "#ea580c" };
  const KINDS = ["added", "removed", "changed"];
  const MAX_PAGES = 10;  // of 1000 entries: the list stops there, the counts do not
  const $ = (sel) => document.querySelector(sel);
  const polygons = ["match", ["geometry-type"], ["Polygon", "MultiPolygon"], true, false];
  const points = ["match", ["geometry-type"], ["Point", "MultiPoint"], true, false];
  const colour = ["match", ["get", "change"], "added", COLOURS.added, "removed", COLOURS.removed, COLOURS.changed];
  const side = (which) => ["==", ["get", "side"], which];
  const drawing = H.overlay("lapis-compare", [
    { id: "lapis-compare-fill", type: "fill", filter: ["all", polygons, side("to")],
      paint: { "fill-color": colour, "fill-opacity": 0.35 } },
    { id: "lapis-compare-old", type: "line", filter: side("from"),
      paint: { "line-color": COLOURS.changed, "line-width": 2, "line-dasharray": [1.5, 1.5] } },
    { id: "lapis-compare-line", type: "line", filter: ["all", ["!", points], side("to")],
      paint: { "line-color": colour, "line-width": 3 } },
    { id: "lapis-compare-point", type: "circle", filter: ["all", points, side("to")],
      paint: { "circle-color": colour, "circle-radius": 7, "circle-stroke-color": "#fff", "circle-stroke-width": 2 } },
  ]);
  let sequence = 0;

  function buildSection() {
    $("#hist-compare").innerHTML = `<details open><summary data-hist="compare"></summary>
      <div class="compare-ends">
        <label><span data-hist="from"></span><br><select id="compare-from"></select></label>
        <label><span data-hist="to"></span><br><select id="compare-to"></select></label>
      </div>
      <button type="button" id="compare-run" data-hist="run"></button>
      <button type="button" id="compare-clear" data-hist="clear"></button>
      <div id="compare-result" aria-live="polite"></div></details>`;
    H.translate($("#hist-compare"));
    for (const select of document.querySelectorAll(".compare-ends select")) {
      select.addEventListener("change", () => { select.dataset.chosen = select.value; });
    }
    $("#compare-run").addEventListener("click", run);
    $("#compare-clear").addEventListener("click", clear);
    $("#compare-result").addEventListener("click", (e) => {
      const item = e.target.closest("li[data-key]");
      if (!item || !state.compare || !state.compare.features) return;
      const features = state.compare.features.filter((f) => f.properties.key === item.dataset.key);
      if (features.length) H.fitTo({ type: "FeatureCollection", features });
    });
  }

  /* What an option names: the path segment the diff takes, when it is (ms) and how to say it. */
  function point(value) {
    const revision = state.revisions.find((r) => String(r.id) === value);
    if (revision) return { value, param: String(revision.id), time: new Date(revision.asof).getTime(), label: `R${revision.id}` };
    if (value === "asof" && state.asof) {
      return { value, param: state.asof, time: new Date(state.asof).getTime(), label: H.when(state.asof) };
    }
    const now = new Date();
    return { value: "now", param: now.toISOString(), time: now.getTime(), label: H.tx("now") };
  }

  function options(select, fallback) {
    const chosen = select.dataset.chosen || fallback;  // the reader's choice, else the default
    const choices = [...state.revisions.map((r) => [String(r.id), `R${r.id} · ${r.name}`]), ["now", H.tx("now")],
      ...(state.asof ? [["asof", `${H.tx("viewed")} (${H.when(state.asof)})`]] : [])];
    const value = choices.some(([v]) => v === chosen) ? chosen : fallback;
    select.innerHTML = choices.map(([v, text]) => `<option value="${H.esc(v)}"${v === value ? " selected" : ""}>`
      + `${H.esc(text)}</option>`).join("");
  }

  function renderChoices() {
    const ids = state.revisions.map((r) => String(r.id));
    const [from, to] = ids.length >= 2 ? ids.slice(-2) : [ids[0] || "now", "now"];
    options($("#compare-from"), from);
    options($("#compare-to"), to);
  }

  async function run() {
    const a = point($("#compare-from").value), b = point($("#compare-to").value);
    const [from, to] = a.time <= b.time ? [a, b] : [b, a];
    const seq = ++sequence;
    state.compare = { from: from.value, to: to.value, busy: true };
    render();
    try {
      const features = [];
      let url = `/revisions/${encodeURIComponent(from.param)}/diff/${encodeURIComponent(to.param)}?f=geojson`;
      let summary = null, pages = 0, more = false;
      while (url) {
        const body = await H.getJSON(url);
        if (seq !== sequence) return;
        summary = summary || body.summary || {};
        for (const f of body.features) features.push({ ...f, properties: { ...f.properties,
          key: `${f.properties.collection}/${f.properties.featureId}` } });
        const next = (body.links || []).find((link) => link.rel === "next");
        url = next && ++pages < MAX_PAGES ? next.href : null;
        more = Boolean(next) && !url;
      }
      const totals = Object.fromEntries(KINDS.map((k) => [k, Object.values(summary).reduce((n, c) => n + (c[k] || 0), 0)]));
      state.compare = { from: from.value, to: to.value, labels: [from.label, to.label], totals, summary, features, more };
      drawing.set({ type: "FeatureCollection", features });
      if (features.length) H.fitTo({ type: "FeatureCollection", features });
    } catch (err) {
      if (seq !== sequence) return;
      state.compare = { error: err.message };
      drawing.set(null);
    }
    render();
  }

  function clear() {
    sequence++;
    state.compare = null;
    drawing.set(null);
    render();
  }

  const number = (value, digits) => value.toLocaleString(H.lang() === "en" ? "en-GB" : "vi-VN",
    { maximumFractionDigits: digits });

  function area(m2) {
    const size = Math.abs(m2);
    if (size >= 1e6) return `${number(m2 / 1e6, 2)} km²`;
    return size >= 1e4 ? `${number(m2 / 1e4, 2)} ha` : `${number(m2, 0)} m²`;
  }

  const distance = (m) => (Math.abs(m) >= 1000 ? `${number(m / 1000, 2)} km` : `${number(m, 0)} m`);
  const shown = (value) => (value === null || value === undefined ? "—"
    : (typeof value === "object" ? JSON.stringify(value) : String(value)).slice(0, 80));

  function measures(p) {
    const g = p.geometry_change || {};
    if (p.change !== "changed" || !g.changed) return [];
    const out = [];
    if (g.area_m2 && g.area_m2.difference !== null) out.push(`${H.tx("area")}: ${area(g.area_m2.old)} → ${area(g.area_m2.new)}`);
    if (g.length_m && g.length_m.difference !== null) {
      out.push(`${H.tx("length")}: ${distance(g.length_m.old)} → ${distance(g.length_m.new)}`);
    }
    if (typeof g.hausdorff_m === "number") out.push(`${H.tx("moved")}: ${distance(g.hausdorff_m)}`);
    return out.length ? out : [H.tx("geometryChanged")];
  }

  function entryHtml(f) {
    const p = f.properties;
    const attributes = Object.entries(p.attributes || {}).map(([name, v]) =>
      `<li><code>${H.esc(name)}</code>: ${H.esc(shown(v.old))} → ${H.esc(shown(v.new))}</li>`).join("");
    const geometry = measures(p).map((text) => `<li>${H.esc(text)}</li>`).join("");
    return `<li data-key="${H.esc(p.key)}" data-change="${H.esc(p.change)}" tabindex="0">
      <span class="swatch ${H.esc(p.change)}"></span> <strong>${H.esc(H.nameOf(p) || `#${p.featureId}`)}</strong>
      <span class="layer">${H.esc(H.layerTitle(p.collection))}${p.code ? ` · ${H.esc(p.code)}` : ""}</span>
      ${attributes || geometry ? `<ul>${attributes}${geometry}</ul>` : ""}</li>`;
  }

  function render() {
    const c = state.compare;
    const root = $("#compare-result");
    if (!c) { root.innerHTML = ""; return; }
    if (c.busy) { root.innerHTML = `<p>${H.esc(H.tx("comparing"))}</p>`; return; }
    if (c.error) { root.innerHTML = `<p class="error">${H.esc(H.tx("failed"))}: ${H.esc(c.error)}</p>`; return; }
    const legend = KINDS.map((k) => `<li data-change="${k}"><span class="swatch ${k}"></span> ${H.esc(H.tx(k))}: `
      + `<b class="count">${c.totals[k]}</b></li>`).join("")
      + `<li data-change="old"><span class="swatch old"></span> ${H.esc(H.tx("oldShape"))}</li>`;
    const listed = c.features.filter((f) => f.properties.side === "to");
    root.innerHTML = `<p class="hint">${H.esc(c.labels[0])} → ${H.esc(c.labels[1])}</p>
      <ul class="compare-legend">${legend}</ul>
      ${listed.length ? `<ol class="compare-list">${listed.map(entryHtml).join("")}</ol>` : `<p>${H.esc(H.tx("noChanges"))}</p>`}
      ${c.more ? `<p class="hint">${H.esc(H.tx("more").replace("{n}", listed.length))}</p>` : ""}`;
  }

  function start() {
    buildSection();
    renderChoices();
    H.on("revisions", renderChoices);
    H.on("asof", renderChoices);
    H.on("lang", () => { renderChoices(); render(); });
  }

  start();
})();
