/* The HTTP side of the map's edit mode: the signed-in token (sessionStorage: gone when the tab closes), every call
   with `Authorization: Bearer`, and problem+json answers turned into errors that carry the status and the reason.
   Talks only to this server: /me, OGC API – Features Part 4 (items with ETag / If-Match), proposals, imports, jobs. */
(function () {
  "use strict";

  const KEY = "lapis.token";
  const GEOJSON = "application/geo+json";

  /* A refused call: `status` (412, 422, …), the problem document as `problem`, a readable `message`. */
  class ApiError extends Error {
    constructor(status, problem, fallback) {
      super(reasonOf(problem) || fallback || `HTTP ${status}`);
      this.status = status;
      this.problem = problem || {};
    }
  }

  /* The reason a problem document gives (its detail names the field: "geometry: invalid in EPSG:4326: …"). */
  const reasonOf = (problem) => (problem && typeof problem === "object" ? problem.detail || problem.title || "" : "");

  const token = () => sessionStorage.getItem(KEY);

  /* One call. `json` is sent as JSON (with `type` as its media type), `form` as multipart; answers are parsed
     when they are JSON. Resolves to { status, headers, body }; rejects with ApiError when not 2xx. */
  async function call(method, url, { json, type, form, headers = {}, auth = true } = {}) {
    const h = { Accept: "application/json, application/geo+json, application/problem+json", ...headers };
    if (auth && token()) h.Authorization = `Bearer ${token()}`;
    let body;
    if (json !== undefined) { body = JSON.stringify(json); h["Content-Type"] = type || "application/json"; }
    else if (form) body = form;
    const response = await fetch(url, { method, headers: h, body, cache: "no-store" });
    const media = response.headers.get("Content-Type") || "";
    let parsed = null;
    if (response.status !== 204 && /json/.test(media)) parsed = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, parsed, response.statusText);
    return { status: response.status, headers: response.headers, body: parsed };
  }

  const items = (layer) => `/collections/${encodeURIComponent(layer)}/items`;
  const withProposal = (url, proposal) => (proposal ? `${url}?proposal=${encodeURIComponent(proposal)}` : url);
  const proposalOf = (r) => (r.headers.get("Lapis-Proposal") ? Number(r.headers.get("Lapis-Proposal")) : null);
  const idFromLocation = (location) => (location ? decodeURIComponent(location.split("?")[0].split("/").pop()) : null);

  const api = {
    ApiError,
    token,
    signIn: async (candidate) => {
      const me = await call("GET", "/me", { headers: { Authorization: `Bearer ${candidate}` }, auth: false });
      sessionStorage.setItem(KEY, candidate);
      return me.body;
    },
    signOut: () => sessionStorage.removeItem(KEY),
    me: async () => (await call("GET", "/me")).body,
    collections: async () => (await call("GET", "/collections", { auth: false })).body.collections || [],
    schema: async (layer) => (await call("GET", `/collections/${encodeURIComponent(layer)}/schema`)).body,
    /* One feature and its ETag (of the proposed version when `proposal` is given). */
    item: async (layer, fid, proposal) => {
      const r = await call("GET", withProposal(`${items(layer)}/${encodeURIComponent(fid)}`, proposal));
      return { feature: r.body, etag: r.headers.get("ETag") };
    },
    /* Writes answer with the feature's new ETag and the proposal they went into (`Lapis-Proposal`). */
    create: async (layer, feature) => {
      const r = await call("POST", items(layer), { json: feature, type: GEOJSON });
      const location = r.headers.get("Location");
      return { id: (r.body && r.body.id) ?? idFromLocation(location), etag: r.headers.get("ETag"),
        proposal: proposalOf(r), feature: r.body };
    },
    patch: async (layer, fid, etag, patch) => {
      const r = await call("PATCH", `${items(layer)}/${encodeURIComponent(fid)}`,
        { json: patch, type: "application/merge-patch+json", headers: { "If-Match": etag } });
      return { etag: r.headers.get("ETag"), proposal: proposalOf(r), feature: r.body };
    },
    remove: async (layer, fid, etag) => {
      const r = await call("DELETE", `${items(layer)}/${encodeURIComponent(fid)}`, { headers: { "If-Match": etag } });
      return { proposal: proposalOf(r) };
    },
    /* The proposals the caller may see (an editor's own, every one for an approver). */
    proposals: async (query = "") => (await call("GET", `/proposals${query ? `?${query}` : ""}`)).body.proposals,
    proposal: async (id) => (await call("GET", `/proposals/${encodeURIComponent(id)}`)).body,
    /* The proposal's changed features as GeoJSON (properties lapis:layer, lapis:featureId, lapis:op). */
    proposalFeatures: async (id) => (await call("GET", `/proposals/${encodeURIComponent(id)}?f=geojson`)).body,
    publish: async (id) => (await call("POST", `/proposals/${encodeURIComponent(id)}/publish`)).body,
    reject: async (id, note) => (await call("POST", `/proposals/${encodeURIComponent(id)}/reject`,
      note ? { json: { note } } : {})).body,
    /* Starts an import; resolves to the job's URL (the 202's Location). */
    upload: async (layer, form) => {
      const r = await call("POST", `/collections/${encodeURIComponent(layer)}/imports`, { form });
      return r.headers.get("Location");
    },
    job: async (url) => (await call("GET", url)).body,
    tilejson: async () => (await call("GET", "/tiles/WebMercatorQuad/tilejson.json", { auth: false })).body,
  };

  window.lapisApi = api;
})();
