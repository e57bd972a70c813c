/* The attribute form of the map's edit mode, generated from a collection's JSON Schema (/collections/{id}/schema):
   a select for a property with allowed values, a number input for integers and numbers, a date input for dates, a
   checkbox for booleans, text otherwise. Reads the values back typed (empty → null) and as a JSON Merge Patch of what
   changed. Properties the server manages (timestamps) are left out. */
(function () {
  "use strict";

  const MANAGED = new Set(["id", "created_at", "updated_at", "plan_id"]);
  const FALLBACK_REQUIRED = ["code", "name_vi"];  // NOT NULL on every plan table (migration 0001)
  const text = () => window.lapisEditText;

  /* The editable properties of a feature schema: [{ name, type, format, enum, title, required }]. */
  function fieldsOf(schema) {
    const inner = (schema && schema.properties && schema.properties.properties) || {};
    const props = inner.properties || {};
    const required = new Set(inner.required || FALLBACK_REQUIRED);
    return Object.entries(props)
      .filter(([name, p]) => !MANAGED.has(name) && !p.readOnly)
      .map(([name, p]) => ({ name, type: Array.isArray(p.type) ? p.type.find((x) => x !== "null") : p.type,
        format: p.format, enum: p.enum, title: p.title, required: required.has(name) }));
  }

  function inputFor(field, value) {
    const esc = text().esc;
    const attrs = `name="${esc(field.name)}" id="edit-field-${esc(field.name)}"${field.required ? " required" : ""}`;
    if (field.enum) {
      const blank = field.required && value != null ? "" : '<option value=""></option>';
      return `<select ${attrs}>${blank}${field.enum.map((v) => `<option value="${esc(v)}"${v === value ? " selected" : ""}>${esc(v)}</option>`).join("")}</select>`;
    }
    if (field.type === "boolean") return `<input type="checkbox" ${attrs}${value ? " checked" : ""}>`;
    const shown = value == null ? "" : esc(value);
    if (field.type === "integer") return `<input type="number" step="1" ${attrs} value="${shown}">`;
    if (field.type === "number") return `<input type="number" step="any" ${attrs} value="${shown}">`;
    if (field.format === "date") return `<input type="date" ${attrs} value="${shown}">`;
    return `<input type="text" ${attrs} value="${shown}">`;
  }

  function labelHtml(field) {
    const t = text();
    const req = field.required ? ` <abbr title="${t.esc(t.t("required"))}">*</abbr>` : "";
    return `${t.esc(t.fieldName(field.name, field.title))}${req}`;
  }

  /* Draws the form for `schema` into `container`, filled with `values` (a feature's properties). */
  function render(container, schema, values = {}) {
    const fields = fieldsOf(schema);
    container.fields = fields;
    container.innerHTML = fields.map((f) => `<label class="edit-field" data-field="${text().esc(f.name)}">
      <span>${labelHtml(f)}</span>${inputFor(f, values[f.name])}</label>`).join("");
  }

  /* The labels again, in the current language (the values stay as typed). */
  function relabel(container) {
    for (const f of container.fields || []) {
      const label = container.querySelector(`[data-field="${CSS.escape(f.name)}"] span`);
      if (label) label.innerHTML = labelHtml(f);
    }
  }

  function valueOf(field, input) {
    if (field.type === "boolean") return input.checked;
    const raw = input.value.trim();
    if (raw === "") return null;
    if (field.type === "integer") return Number.parseInt(raw, 10);
    if (field.type === "number") return Number(raw);
    return raw.normalize("NFC");
  }

  /* { name: typed value } of every field. */
  function values(container) {
    const out = {};
    for (const f of container.fields || []) {
      const input = container.querySelector(`[name="${CSS.escape(f.name)}"]`);
      if (input) out[f.name] = valueOf(f, input);
    }
    return out;
  }

  /* The fields whose value differs from `original` (a JSON Merge Patch of the properties; null removes). */
  function changes(container, original = {}) {
    const patch = {};
    for (const [name, value] of Object.entries(values(container))) {
      if ((original[name] ?? null) !== value) patch[name] = value;
    }
    return patch;
  }

  /* The browser's own check of required fields and number formats; false (and the form shows why) if it fails. */
  function valid(container) {
    for (const input of container.querySelectorAll("input, select")) {
      if (!input.checkValidity()) { input.reportValidity(); return false; }
    }
    return true;
  }

  window.lapisEditForm = { fieldsOf, render, relabel, values, changes, valid };
})();
