#include "transports/admin_page.hpp"

namespace mcpvisor::transports {

namespace {

// Plain HTML, CSS and JavaScript; no external resources, so it works on a
// machine without network access. The token, if the endpoint needs one,
// comes from the URL fragment (#token=...), which browsers never send to
// the server.
constexpr std::string_view page = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mcpvisor: supervision tree</title>
<style>
  :root { --bg:#f6f7f9; --card:#fff; --ink:#1d2330; --mute:#6b7280;
          --ok:#15803d; --bad:#b91c1c; --warn:#b45309; --line:#e5e7eb; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--ink); }
  header { display:flex; gap:12px; align-items:center; flex-wrap:wrap;
           padding:12px 20px; background:var(--card); border-bottom:1px solid var(--line); }
  h1 { font-size:18px; margin:0 12px 0 0; }
  .pill { padding:3px 10px; border-radius:999px; font-weight:600; font-size:12px; }
  .ok { background:#dcfce7; color:var(--ok); }
  .bad { background:#fee2e2; color:var(--bad); }
  .stat { color:var(--mute); }
  .stat b { color:var(--ink); font-variant-numeric: tabular-nums; }
  main { padding:16px 20px; display:grid; gap:16px; }
  section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
  h2 { font-size:14px; margin:0 0 8px; display:flex; gap:12px; align-items:baseline; }
  h2 small { color:var(--mute); font-weight:400; }
  .grid { display:grid; grid-template-columns:repeat(auto-fill, minmax(132px, 1fr)); gap:6px; }
  .node { border:1px solid var(--line); border-radius:6px; padding:6px 8px; font-size:12px; }
  .node .id { font-weight:600; }
  .node .n { color:var(--mute); font-variant-numeric: tabular-nums; }
  .node.restarted { border-color:var(--warn); background:#fffbeb; }
  .node.down { border-color:var(--bad); background:#fef2f2; }
  #error { color:var(--bad); }
  table { border-collapse:collapse; font-size:12px; }
  td { padding:2px 10px 2px 0; }
</style>
</head>
<body>
<header>
  <h1>mcpvisor</h1>
  <span id="ready" class="pill">…</span>
  <span id="andon" class="pill">…</span>
  <span class="stat">sessions <b id="total-sessions">–</b></span>
  <span class="stat">restarts <b id="total-restarts">–</b></span>
  <span class="stat">queued <b id="queued">–</b></span>
  <span class="stat">updated <b id="updated">–</b></span>
  <span id="error"></span>
</header>
<main>
  <section>
    <h2>root <small id="root-info"></small></h2>
    <div id="services" class="grid"></div>
  </section>
  <div id="metas"></div>
  <section>
    <h2>andon cord <small id="andon-reason"></small></h2>
    <table id="andon-history"></table>
  </section>
</main>
<script>
"use strict";
const token = new URLSearchParams(location.hash.slice(1)).get("token");
const headers = token ? { Authorization: "Bearer " + token } : {};
const seen = new Map(); // node id -> restarts seen last time

async function get(path) {
  const r = await fetch(path, { headers, cache: "no-store" });
  return { status: r.status, body: await r.json() };
}

function restartsOf(n) { return (n.restarts || 0) + (n.child_restarts || 0); }

function sum(n, f) {
  return f(n) + (n.nodes || []).reduce((a, c) => a + sum(c, f), 0);
}

function tile(n) {
  const d = document.createElement("div");
  d.className = "node";
  d.dataset.id = n.id;
  d.dataset.restarts = restartsOf(n);
  if (!n.reachable) d.classList.add("down");
  const before = seen.get(n.id);
  if (before !== undefined && before < restartsOf(n)) d.classList.add("restarted");
  seen.set(n.id, restartsOf(n));
  const lines = [];
  if (n.sessions !== undefined) lines.push(n.sessions + " sessions");
  else if (n.children) lines.push(n.children.workers + " workers, " + n.children.supervisors + " sup.");
  lines.push("restarts " + restartsOf(n) + (n.recent_restarts_ms && n.recent_restarts_ms.length
             ? " (" + n.recent_restarts_ms.length + " recent)" : ""));
  lines.push("mailbox " + n.mailbox.depth + " (peak " + n.mailbox.peak + ")");
  d.innerHTML = '<div class="id"></div>' + lines.map(() => '<div class="n"></div>').join("");
  d.children[0].textContent = n.id;
  lines.forEach((t, i) => { d.children[i + 1].textContent = t; });
  return d;
}

function drawTree(root) {
  document.getElementById("root-info").textContent =
    root.strategy + ", intensity " + root.intensity + " per " + root.period_ms +
    " ms, restarts " + root.child_restarts;
  const services = document.getElementById("services");
  const metas = document.getElementById("metas");
  services.replaceChildren();
  metas.replaceChildren();
  for (const c of root.nodes || []) {
    if (!c.id.startsWith("meta-")) { services.appendChild(tile(c)); continue; }
    const s = document.createElement("section");
    s.className = "meta";
    s.dataset.id = c.id;
    s.dataset.restarts = restartsOf(c);
    const h = document.createElement("h2");
    h.textContent = c.id;
    const small = document.createElement("small");
    small.textContent = (c.nodes || []).reduce((a, x) => a + (x.sessions || 0), 0) +
      " sessions, " + (c.restarts || 0) + " restarts, shard restarts " + c.child_restarts +
      ", mailbox " + c.mailbox.depth;
    h.appendChild(small);
    const g = document.createElement("div");
    g.className = "grid";
    for (const shard of c.nodes || []) {
      const t = tile(shard);
      t.classList.add("shard");
      g.appendChild(t);
    }
    s.append(h, g);
    metas.appendChild(s);
  }
  document.getElementById("total-sessions").textContent =
    sum(root, n => n.sessions || 0);
  document.getElementById("total-restarts").textContent =
    sum(root, n => n.child_restarts || 0);
}

function drawAndon(a) {
  const el = document.getElementById("andon");
  el.textContent = a.pulled ? "andon pulled" : "andon released";
  el.className = "pill " + (a.pulled ? "bad" : "ok");
  el.dataset.state = a.pulled ? "pulled" : "released";
  document.getElementById("andon-reason").textContent =
    (a.pulled ? "pulled: " + a.reason : "released") + " — pulls " + a.pulls;
  document.getElementById("queued").textContent = a.load.queued;
  const t = document.getElementById("andon-history");
  t.replaceChildren();
  for (const e of a.history.slice(-10).reverse()) {
    const row = t.insertRow();
    row.insertCell().textContent = new Date(e.at_ms).toLocaleTimeString();
    row.insertCell().textContent = e.action + (e.manual ? " (by hand)" : "");
    row.insertCell().textContent = e.reason;
  }
}

async function refresh() {
  try {
    const [tree, andon, ready] = await Promise.all(
      [get("/admin/tree?depth=3"), get("/admin/andon"), get("/readyz")]);
    if (tree.status !== 200) throw new Error(tree.body.error || "tree: " + tree.status);
    drawTree(tree.body);
    drawAndon(andon.body);
    const r = document.getElementById("ready");
    r.textContent = ready.status === 200 ? "ready" : "not ready: " + ready.body.reason;
    r.className = "pill " + (ready.status === 200 ? "ok" : "bad");
    document.getElementById("updated").textContent = new Date().toLocaleTimeString();
    document.getElementById("error").textContent = "";
  } catch (e) {
    document.getElementById("error").textContent = String(e.message || e);
  }
  setTimeout(refresh, 1000);
}
refresh();
</script>
</body>
</html>
)html";

} // namespace

std::string_view admin_page() {
  return page;
}

} // namespace mcpvisor::transports
