/* The map's edit mode, part 4: uploading a file into the chosen layer. The file and the loader's options go to
   POST /collections/{id}/imports as multipart; the answer names a job, which is polled (GET /jobs/{id}) until it ends,
   its progress shown as a bar and its report (loaded, rejected, warnings) and proposal shown when done. The import's
   rows are a proposal like any edit: proposals.js shows it once the job has finished. */
(function () {
  "use strict";

  const edit = window.lapisEdit;
  const api = window.lapisApi;
  const text = () => window.lapisEditText;
  const t = (key) => text().t(key);
  const esc = (s) => text().esc(s);
  const $ = (sel) => document.querySelector(sel);
  const ENCODINGS = ["auto", "utf-8", "cp1258", "tcvn3", "vni", "latin-1"];  // the loader's (`lapis load --encoding`)
  const MODES = ["append", "upsert", "replace"];
  const ENDED = new Set(["succeeded", "failed", "cancelled"]);
  const POLL_MS = 500;

  const up = { job: null, url: null, error: null, busy: false };
  edit.upload = up;

  function buildSection() {
    const box = document.createElement("form");
    box.id = "upload";
    box.noValidate = true;
    box.innerHTML = `
      <h3 data-edit="upload"></h3>
      <label class="row"><span data-edit="file"></span><br><input type="file" id="upload-file"
        accept=".geojson,.json,.gpkg,.zip,.fgb,.csv"></label>
      <label class="row"><span data-edit="mode"></span> <select id="upload-mode"></select></label>
      <label class="row"><span data-edit="key"></span> <input type="text" id="upload-key" value="code" size="10"></label>
      <label class="row"><span data-edit="encoding"></span> <select id="upload-encoding">
        ${ENCODINGS.map((e) => `<option value="${e}">${e}</option>`).join("")}</select></label>
      <label class="row"><span data-edit="crs"></span><br><input type="text" id="upload-crs" placeholder="EPSG:9210"></label>
      <label class="row"><input type="checkbox" id="upload-dry-run"> <span data-edit="dryRun"></span></label>
      <button type="submit" id="upload-start" data-edit="start"></button>
      <div id="upload-status" role="status" aria-live="polite"></div>`;
    const proposal = $("#edit-proposal");
    proposal.parentNode.insertBefore(box, proposal);
    box.addEventListener("submit", (e) => { e.preventDefault(); start(); });
  }

  async function start() {
    const layer = edit.editor.layer;
    const file = $("#upload-file").files[0];
    if (!layer || !file || up.busy) return;
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("mode", $("#upload-mode").value);
    if ($("#upload-key").value.trim()) form.append("key", $("#upload-key").value.trim());
    form.append("encoding", $("#upload-encoding").value);
    if ($("#upload-crs").value.trim()) form.append("crs", $("#upload-crs").value.trim());
    form.append("dry_run", $("#upload-dry-run").checked ? "true" : "false");
    up.busy = true; up.error = null; up.job = null;
    render();
    try {
      up.url = await api.upload(layer, form);
      await poll();
    } catch (err) {
      up.error = err.status === 422 || err.status === 400 || err.status === 413
        ? `${t("invalid")}: ${err.message}` : `${t("failed")}: ${err.message}`;
      up.busy = false;
      render();
    }
  }

  async function poll() {
    up.job = await api.job(up.url);
    render();
    if (!ENDED.has(up.job.state)) { setTimeout(() => poll().catch(stop), POLL_MS); return; }
    up.busy = false;
    render();
    document.dispatchEvent(new CustomEvent("lapis:imported", { detail: up.job }));
  }

  function stop(err) {
    up.busy = false;
    up.error = `${t("failed")}: ${err.message}`;
    render();
  }

  /* The job's progress ({ phase, detail, rows_done, rows_total }) as a fraction, or null while the total is unknown. */
  function fraction(progress) {
    const p = progress || {};
    return typeof p.rows_done === "number" && p.rows_total ? p.rows_done / p.rows_total : null;
  }

  /* What the job's report says: loaded and rejected features, the proposal made, errors and warnings. */
  function reportHtml(job) {
    const r = job.report || {};
    const parts = [];
    if (typeof r.loaded === "number") parts.push(`${r.loaded} ${esc(t("loaded"))}`);
    if (r.rejected) parts.push(`${r.rejected} ${esc(t("rejectedRows"))}`);
    const errors = (r.errors || []).map((e) => `<li class="error">${esc([e.title, e.detail].filter(Boolean).join(": "))}</li>`);
    const warnings = (r.warnings || []).map((w) => `<li>${esc(w)}</li>`);
    const rejects = (r.rejects || []).slice(0, 5).map((x) => `<li>${esc(x.reason || JSON.stringify(x))}</li>`);
    const notes = [...errors, ...warnings, ...rejects].join("");
    return `${parts.length ? `<p>${parts.join(", ")}</p>` : ""}
      ${job.proposal ? `<p class="job-proposal">${esc(t("jobProposal"))} #${esc(job.proposal.id)}</p>` : ""}
      ${notes ? `<ul>${notes}</ul>` : ""}`;
  }

  function render() {
    const box = $("#upload");
    if (!box) return;
    text().translate(box);
    const modes = t("modes");
    const select = $("#upload-mode");
    const chosen = select.value || "append";
    select.innerHTML = MODES.map((m) => `<option value="${m}"${m === chosen ? " selected" : ""}>${esc(modes[m])}</option>`).join("");
    $("#upload-start").disabled = up.busy || !edit.editor.layer;
    box.hidden = !edit.editor.layer;
    const status = $("#upload-status");
    const job = up.job;
    status.dataset.state = up.error ? "error" : job ? job.state : "";
    if (up.error) { status.innerHTML = `<p class="error">${esc(up.error)}</p>`; return; }
    if (!job) { status.innerHTML = up.busy ? "<progress></progress>" : ""; return; }
    const f = fraction(job.progress);
    const states = t("jobStates");
    const phase = job.progress && !ENDED.has(job.state) ? ` · ${esc(job.progress.detail || job.progress.phase || "")}` : "";
    status.innerHTML = `<p><span class="job-state ${esc(job.state)}">${esc(states[job.state] || job.state)}</span>${phase}</p>
      ${f == null ? (ENDED.has(job.state) ? "" : "<progress></progress>")
        : `<progress max="1" value="${Math.max(0, Math.min(1, f))}"></progress> ${Math.round(f * 100)}%`}
      ${reportHtml(job)}`;
  }

  function startSection() {
    buildSection();
    render();
    document.addEventListener("lapis:lang", render);
    document.addEventListener("lapis:session", render);
    $("#edit-layer").addEventListener("change", () => setTimeout(render, 0));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", startSection); else startSection();
})();
