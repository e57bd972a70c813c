/* "The plan as of …": a revision picker (GET /revisions) and a time slider from the first revision to now. Either
   sets the instant the map shows: the plan's vector tiles are asked for with `asof=` (their URLs from the TileJSON,
   the parameter added), /locate and the clicked feature answer as of it too, and a banner says so with a way back
   to now. Not offered on a static (PMTiles) map, whose tiles cannot look back. */
(function () {
  "use strict";

  const H = window.lapisHistory;
  const state = H.state;
  const STEPS = 1000;  // slider positions; the last one is now
  const SOURCE = "plan";  // the plan's vector source in /styles/plan.json
  const $ = (sel) => document.querySelector(sel);
  let base = null;  // the plan source's tile URLs for the present
  let range = null;  // [earliest, latest] instant of the slider, in ms

  /* A tile URL template with `asof` set (or removed): string work only, since a URL object would escape {z}. */
  function withAsof(url, asof) {
    const [path, query = ""] = url.split("?");
    const params = new URLSearchParams(query);
    if (asof) params.set("asof", asof); else params.delete("asof");
    const text = params.toString();
    return text ? `${path}?${text}` : path;
  }

  /* Points the plan source at the tiles of the instant shown; called whenever the instant, the source or the style
     changes (a language switch replaces the style, and the source with it). */
  function applyTiles(map) {
    const source = map.getSource(SOURCE);
    if (!source || typeof source.setTiles !== "function" || state.static) return;
    if (!base) {
      if (!source.tiles) return;  // its TileJSON has not come yet: "sourcedata" calls again
      base = source.tiles.map((url) => withAsof(url, null));
    }
    const have = source.serialize().tiles;
    if (!state.asof && !have) return;
    const want = base.map((url) => withAsof(url, state.asof));
    if (have && have.join("\n") === want.join("\n")) return;
    source.setTiles(want);
  }

  const ms = (iso) => new Date(iso).getTime();
  const position = (iso) => Math.round((ms(iso) - range[0]) / (range[1] - range[0] || 1) * STEPS);

  /* The revision in force at `time` (ms): the latest published by then. */
  function inForce(time) {
    return state.revisions.filter((r) => ms(r.asof) <= time).pop() || null;
  }

  /* A slider position as (instant, revision): a revision's own position gives its exact instant (the server's
     microseconds: a millisecond earlier could be before the revision's own changes); the last one is now. */
  function atPosition(pos) {
    if (pos >= STEPS) return [null, null];
    const snapped = state.revisions.find((r) => position(r.asof) === pos);
    if (snapped) return [snapped.asof, snapped];
    const time = range[0] + (range[1] - range[0]) * pos / STEPS;
    return [new Date(time).toISOString(), inForce(time)];
  }

  function revisionLabel(r) {
    return `R${r.id} · ${r.name}`;
  }

  function buildSection() {
    const root = $("#hist-asof");
    root.innerHTML = `<details open><summary data-hist="planAt"></summary>
      <label class="row"><span data-hist="revision"></span><br><select id="asof-revision"></select></label>
      <p class="hint" id="asof-revision-info"></p>
      <label class="row"><span data-hist="slider"></span>
        <input type="range" id="asof-slider" min="0" max="${STEPS}" step="1" value="${STEPS}" list="asof-ticks"></label>
      <datalist id="asof-ticks"></datalist>
      <p class="hint" id="asof-slider-label"></p>
      <button type="button" id="asof-now" data-hist="backToNow"></button>
      <p class="hint" id="asof-static" hidden data-hist="staticMode"></p></details>`;
    $("#asof-revision").addEventListener("change", (e) => {
      const chosen = state.revisions.find((r) => String(r.id) === e.target.value);
      H.setAsOf(chosen ? chosen.asof : null, chosen);
    });
    const slider = $("#asof-slider");
    slider.addEventListener("input", () => showSlider(Number(slider.value)));
    slider.addEventListener("change", () => H.setAsOf(...atPosition(Number(slider.value))));
    $("#asof-now").addEventListener("click", () => H.setAsOf(null));
    $("#asof-banner-now").addEventListener("click", () => H.setAsOf(null));
  }

  function showSlider(pos) {
    const [asof, revision] = atPosition(pos);
    $("#asof-slider-label").textContent = asof
      ? `${H.when(asof)}${revision ? ` — ${H.tx("inForce")}: R${revision.id}` : ""}` : H.tx("now");
  }

  function render() {
    const select = $("#asof-revision");
    const chosen = state.asofRevision && state.asof === state.asofRevision.asof ? String(state.asofRevision.id) : "";
    select.innerHTML = `<option value="">${H.esc(H.tx("now"))}</option>` + state.revisions
      .map((r) => `<option value="${r.id}"${String(r.id) === chosen ? " selected" : ""} title="${H.esc(r.legal_basis)}">`
        + `${H.esc(revisionLabel(r))}</option>`).join("");
    const revision = state.revisions.find((r) => String(r.id) === chosen);
    $("#asof-revision-info").textContent = revision
      ? [revision.legal_basis, revision.decided_on, revision.note].filter(Boolean).join(" — ") : "";
    if (range) {
      $("#asof-ticks").innerHTML = state.revisions.map((r) => `<option value="${position(r.asof)}"></option>`).join("");
      const pos = state.asof ? Math.max(0, Math.min(STEPS - 1, position(state.asof))) : STEPS;
      $("#asof-slider").value = String(pos);
      $("#asof-slider-label").textContent = state.asof ? H.when(state.asof) : H.tx("now");
    }
    renderBanner();
  }

  function renderBanner() {
    const banner = $("#asof-banner");
    banner.hidden = !state.asof;
    document.body.classList.toggle("viewing-past", Boolean(state.asof));
    if (!state.asof) return;
    $("#asof-banner-when").textContent = H.when(state.asof);
    const r = state.asofRevision || inForce(ms(state.asof));
    $("#asof-banner-revision").textContent = r ? `(${revisionLabel(r)}; ${r.legal_basis})` : "";
  }

  async function loadRevisions() {
    try {
      state.revisions = (await H.getJSON("/revisions")).revisions || [];
    } catch (err) {
      $("#asof-revision-info").textContent = `${H.tx("failed")}: ${err.message}`;
      state.revisions = [];
    }
    const first = state.revisions.length ? ms(state.revisions[0].asof) : Date.now() - 365 * 86400e3;
    range = [first, Math.max(Date.now(), first + 1000)];
    render();
    H.emit("revisions", state.revisions);
  }

  function start() {
    buildSection();
    state.static = new URLSearchParams(location.search).has("pmtiles");
    if (state.static) {
      for (const el of document.querySelectorAll("#hist-asof select, #hist-asof input, #hist-asof button")) el.disabled = true;
      $("#asof-static").hidden = false;
    }
    H.translate($("#hist-asof"));
    H.on("asof", () => { render(); H.whenMap(applyTiles); });
    H.on("lang", render);
    H.whenMap((map) => {
      map.on("sourcedata", (e) => { if (e.sourceId === SOURCE && e.sourceDataType === "metadata") applyTiles(map); });
      map.on("styledata", () => applyTiles(map));
    });
    loadRevisions();
  }

  start();
})();
