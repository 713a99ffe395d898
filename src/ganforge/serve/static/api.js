// Renders /api/openapi.json as a plain list of endpoints with their fields: an offline stand-in for Swagger UI.
"use strict";

function typeOf(schema, spec) {
  if (!schema) return "";
  if (schema.$ref) return schema.$ref.split("/").pop();
  if (schema.anyOf) return schema.anyOf.map((s) => typeOf(s, spec)).join(" | ");
  if (schema.type === "array") return `list of ${typeOf(schema.items, spec)}`;
  return schema.type || "";
}

function limits(s) {
  const parts = [];
  for (const [k, sign] of [["minimum", "≥"], ["maximum", "≤"], ["minLength", "min length"], ["maxLength", "max length"], ["minItems", "min items"], ["maxItems", "max items"], ["pattern", "pattern"]]) {
    if (s[k] !== undefined) parts.push(`${sign} ${s[k]}`);
  }
  for (const sub of s.anyOf || []) parts.push(...limits(sub));
  return parts;
}

function fieldRows(schema, spec) {
  if (schema && schema.$ref) schema = spec.components.schemas[schema.$ref.split("/").pop()];
  if (!schema || !schema.properties) return [];
  const required = new Set(schema.required || []);
  return Object.entries(schema.properties).map(([name, s]) => {
    const dflt = s.default !== undefined ? `default ${JSON.stringify(s.default)}` : required.has(name) ? "required" : "";
    return [name, typeOf(s, spec), [dflt, ...limits(s)].filter(Boolean).join(", "), s.description || ""];
  });
}

function table(rows) {
  const t = document.createElement("table");
  t.className = "fields";
  for (const r of rows) {
    const tr = t.insertRow();
    for (const c of r) tr.insertCell().textContent = c;
  }
  return t;
}

async function render() {
  const box = document.getElementById("endpoints");
  const spec = await (await fetch("/api/openapi.json")).json();
  box.replaceChildren();
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const h = document.createElement("h3");
      h.textContent = `${method.toUpperCase()} ${path}`;
      const p = document.createElement("p");
      p.textContent = op.description || op.summary || "";
      box.append(h, p);
      const rows = (op.parameters || []).map((q) => [q.name, `${typeOf(q.schema, spec)} (${q.in})`, [q.required ? "required" : q.schema.default !== undefined ? `default ${q.schema.default}` : "", ...limits(q.schema)].filter(Boolean).join(", "), q.description || ""]);
      const content = (op.requestBody && op.requestBody.content) || {};
      for (const [mime, body] of Object.entries(content)) rows.push(...fieldRows(body.schema, spec).map((r) => [r[0], `${r[1]} (${mime.includes("json") ? "JSON" : "form"})`, r[2], r[3]]));
      if (rows.length) box.append(table([["field", "type", "limits", ""], ...rows]));
    }
  }
}

render().catch((err) => {
  document.getElementById("endpoints").textContent = `could not read /api/openapi.json: ${err.message}`;
});
