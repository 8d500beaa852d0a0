// The moderators' desk. Talks to /desk/api with Telegram's init data; writes every text
// with textContent (never as markup); each change carries a fresh request id and the
// version it was made on, so a replay or a stale save is refused by the server.
"use strict";

const launch = new URLSearchParams(location.hash.slice(1));
const telegram = window.Telegram && window.Telegram.WebApp;
const initData = (telegram && telegram.initData) || launch.get("tgWebAppData") || "";
// Marks every font has (the answer's emoji may be missing from a desktop's fonts).
const STANCES = [["asserts", "✓"], ["disputes", "✗"], ["partly", "◐"], ["silent", "–"]];
const state = { sources: [], incident: null, version: null, view: "incidents", role: null,
  editingSource: null, importFile: null };

function applyTheme() {
  let theme = {};
  try {
    theme = (telegram && telegram.themeParams) || JSON.parse(launch.get("tgWebAppThemeParams") || "{}");
  } catch (error) {
    theme = {};
  }
  for (const [name, value] of Object.entries(theme)) {
    if (/^#[0-9a-fA-F]{3,8}$/.test(String(value))) {
      document.documentElement.style.setProperty("--tg-theme-" + name.replace(/_/g, "-"), value);
    }
  }
}

function requestId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
}

async function api(method, path, body) {
  const headers = { Authorization: "tma " + initData };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    headers["X-Request-Id"] = requestId();
  }
  const response = await fetch("/desk/api" + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.error || response.statusText);
    error.status = response.status;
    error.data = data;
    throw error;
  }
  return data;
}

// The desk's words in the moderator's language, from the bot's catalogues (`/me`).
let words = {};

function T(text, values) {
  const said = words[text] || text;
  return said.replace(/\{(\w+)\}/g, (whole, name) => (values && name in values ? values[name] : whole));
}

function translatePage(language) {
  document.documentElement.lang = language;
  document.documentElement.dir = language === "ar" ? "rtl" : "ltr";
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = T(node.dataset.t);
  for (const node of document.querySelectorAll("[data-t-placeholder]")) {
    node.placeholder = T(node.dataset.tPlaceholder);
  }
  // What moderators type runs in its own direction, whatever the page's.
  for (const field of document.querySelectorAll("input:not([type=checkbox]), textarea")) field.dir = "auto";
}

function say(text, isError) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.className = isError ? "error" : "";
}

function el(tag, text, attrs) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  return node;
}

function show(view) {
  state.view = view;
  for (const section of document.querySelectorAll("main > section")) {
    section.hidden = section.id !== view;
  }
  for (const button of document.querySelectorAll("nav button")) {
    button.setAttribute("aria-pressed", String(button.dataset.view === view ||
      (view === "editor" && button.dataset.view === "incidents")));
  }
}

function slug(text, taken) {
  const base = text.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "").slice(0, 40) || "item";
  let candidate = base;
  for (let n = 2; taken.has(candidate); n += 1) candidate = base + "-" + n;
  taken.add(candidate);
  return candidate;
}

function lines(text) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean);
}

function splitFirst(line, separator) {
  const at = line.indexOf(separator);
  return at < 0 ? [line, ""] : [line.slice(0, at).trim(), line.slice(at + separator.length).trim()];
}

// --- sources --------------------------------------------------------------------------

function sourceName(id) {
  const pending = parseSources(document.getElementById("incident-form").new_sources.value);
  const source = [...state.sources, ...pending].find((s) => s.id === id);
  return source ? source.name : id;
}

function sourceFor(name) {
  // Sources typed into the editor count as known: they are saved first, with these ids.
  const pending = parseSources(document.getElementById("incident-form").new_sources.value);
  const wanted = name.trim().toLowerCase();
  return [...state.sources, ...pending].find((s) => s.id === wanted || s.name.toLowerCase() === wanted ||
    (s.aliases || []).some((alias) => alias.toLowerCase() === wanted));
}

async function loadSources() {
  state.sources = await api("GET", "/sources");
  const list = document.getElementById("source-list");
  list.replaceChildren(...state.sources.map((s) => {
    const row = el("li");
    const open = el("button", s.name, { type: "button" });
    open.addEventListener("click", () => editSource(s));
    row.append(open, el("div", s.kind.replace(/_/g, " ") + (s.aliases.length ? " · " + s.aliases.join(", ") : ""),
      { class: "muted" }));
    return row;
  }));
}

function editSource(source) {
  state.editingSource = source;
  const form = document.getElementById("source-edit");
  form.hidden = false;
  document.getElementById("source-edit-title").textContent = source.name;
  form.name.value = source.name;
  form.kind.value = source.kind;
  form.aliases.value = source.aliases.join(", ");
  form.affiliation.value = source.affiliation || "";
  form.homepage.value = source.homepage || "";
  const translated = Object.entries(source.translations || {});
  form.names.value = translated.map(([l, t]) => l + ": " + t.name).join("; ");
  form.affiliations.value = translated.filter(([, t]) => t.affiliation)
    .map(([l, t]) => l + ": " + t.affiliation).join("; ");
  form.name.focus();
}

async function saveSource(event) {
  event.preventDefault();
  const form = event.target;
  const source = JSON.parse(JSON.stringify(state.editingSource));
  source.name = form.name.value.trim();
  source.kind = form.kind.value;
  source.aliases = form.aliases.value.split(",").map((a) => a.trim()).filter(Boolean);
  source.affiliation = form.affiliation.value.trim();
  source.homepage = form.homepage.value.trim() || null;
  const translations = {};
  for (const part of form.names.value.split(";")) {
    const [language, name] = splitFirst(part.trim(), ":");
    if (language && name) translations[language] = { name };
  }
  for (const part of form.affiliations.value.split(";")) {
    const [language, affiliation] = splitFirst(part.trim(), ":");
    if (language && affiliation && translations[language]) translations[language].affiliation = affiliation;
  }
  source.translations = translations;
  try {
    await api("POST", "/sources", { sources: [source] });
    form.hidden = true;
    say(T("Saved source {name}.", { name: source.name }));
    await loadSources();
  } catch (error) {
    say(T("Not saved: {problems}", { problems: problemsOf(error) }), true);
  }
}

async function importFile(preview) {
  const file = document.getElementById("import-file").files[0];
  const report = document.getElementById("import-report");
  if (!file) { say(T("Choose a dataset file first."), true); return; }
  const response = await fetch("/desk/api/import" + (preview ? "?preview=1" : ""), {
    method: "POST", body: await file.text(),
    headers: { Authorization: "tma " + initData, "Content-Type": "application/json", "X-Request-Id": requestId() },
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    report.textContent = (data.problems || [data.error || response.statusText]).join("\n");
    document.getElementById("import-apply").disabled = true;
    return;
  }
  report.textContent = preview ? data.summary : T("Imported: {summary}", { summary: data.imported });
  document.getElementById("import-apply").disabled = !preview;
  if (!preview) await loadSources();
}

async function exportAll() {
  const response = await fetch("/desk/api/export", { headers: { Authorization: "tma " + initData } });
  const link = el("a", null, { download: "factcheck-dataset.json" });
  link.href = URL.createObjectURL(await response.blob());
  link.click();
  URL.revokeObjectURL(link.href);
}

function parseSources(text) {
  const taken = new Set(state.sources.map((s) => s.id));
  return lines(text).map((line) => {
    const [name, kind, aliases, affiliation, homepage] = line.split("|").map((part) => (part || "").trim());
    return {
      id: slug(name, taken), name, kind: (kind || "other").toLowerCase().replace(/\s+/g, "_"),
      affiliation: affiliation || "",
      aliases: aliases ? aliases.split(",").map((a) => a.trim()).filter(Boolean) : [],
      homepage: homepage || null, translations: {},
    };
  });
}

async function saveSources(text) {
  const sources = parseSources(text);
  if (!sources.length) return [];
  const saved = await api("POST", "/sources", { sources });
  await loadSources();
  return saved.saved;
}

async function addSources(event) {
  event.preventDefault();
  const form = event.target;
  try {
    const saved = await saveSources(form.lines.value);
    form.lines.value = "";
    say(T("Sources saved: {names}", { names: saved.join(", ") }));
  } catch (error) {
    say(T("Not saved: {problems}", { problems: problemsOf(error) }), true);
  }
}

// --- incidents ------------------------------------------------------------------------

async function search(event) {
  if (event) event.preventDefault();
  const q = document.getElementById("q").value.trim();
  const status = document.getElementById("status-filter").value;
  const found = (await api("GET", "/incidents" + (q ? "?q=" + encodeURIComponent(q) : "")))
    .filter((item) => !status || item.status === status);
  const list = document.getElementById("incident-list");
  list.replaceChildren(...found.map((item) => {
    const row = el("li");
    const open = el("button", item.title, { type: "button" });
    open.addEventListener("click", () => openIncident(item.id));
    row.append(open, el("div", [item.place, item.date || "", T(item.status.replace(/_/g, " ")),
      T("{count} accounts", { count: item.accounts })].filter(Boolean).join(" · "), { class: "muted" }));
    return row;
  }));
  if (!found.length) list.append(el("li", q ? T("Nothing found.") : T("No incidents yet.")));
  return found;
}

function blankIncident() {
  return {
    id: "", title: "", summary: "", place: { name: "", aliases: [], country: "", region: "" },
    date: { start: null, end: null, precision: "unknown", note: "" }, status: "single_source",
    keywords: [], names: [], translations: {}, points: [], accounts: [], phrases: [], posts: [],
    media: [],
  };
}

async function openIncident(key) {
  try {
    const data = key ? await api("GET", "/incidents/" + encodeURIComponent(key)) : null;
    state.incident = data ? data.incident : blankIncident();
    state.version = data ? data.version : null;
    state.feedback = data ? data.feedback : null;
    toForm();
    show("editor");
    say(data ? T("Version {version}", { version: data.version }) : T("A new incident"));
  } catch (error) {
    say(error.message, true);
  }
}

function toForm() {
  const form = document.getElementById("incident-form");
  const incident = state.incident;
  document.getElementById("editor-title").textContent = incident.title || T("New incident");
  form.id.value = incident.id;
  form.id.readOnly = state.version !== null;
  form.title.value = incident.title;
  form.summary.value = incident.summary;
  form.place.value = [incident.place.name, ...(incident.place.aliases || [])].join(", ");
  form.new_sources.value = "";
  form.country.value = incident.place.country || "";
  form.start.value = incident.date.start || "";
  form.end.value = incident.date.end || "";
  form.precision.value = incident.date.precision;
  form.status.value = incident.status;
  form.date_note.value = incident.date.note || "";
  form.keywords.value = (incident.keywords || []).join(", ");
  const number = (id) => incident.points.findIndex((p) => p.id === id) + 1;
  form.notes.value = incident.accounts.flatMap((a) => a.stances.filter((s) => s.note).map((s) =>
    sourceName(a.source) + " #" + number(s.point) + ": " + s.note)).join("\n");
  const votes = state.feedback;
  document.getElementById("feedback").textContent = votes
    ? T("Readers: 👍 {helpful} helpful · 👎 {not_helpful} not helpful", votes) : "";
  form.points.value = incident.points.map((p) => p.text).join("\n");
  form.accounts.value = incident.accounts.map((a) => sourceName(a.source) + ": " + a.summary).join("\n");
  const pointNumber = (id) => incident.points.findIndex((p) => p.id === id) + 1;
  form.figures.value = incident.accounts.flatMap((a) => a.figures.map((f) =>
    sourceName(a.source) + ": " + f.label + ": " + f.raw + (f.point ? " #" + pointNumber(f.point) : ""))).join("\n");
  form.links.value = incident.accounts.filter((a) => a.url || a.published).map((a) =>
    [sourceName(a.source) + ":", a.url || "", a.published || ""].join(" ").trim()).join("\n");
  form.posts.value = incident.posts.map((p) => p.channel + "/" + p.message_id).join("\n");
  drawGrid();
  drawMedia();
  drawTranslations();
}

function fromForm() {
  const form = document.getElementById("incident-form");
  const old = state.incident;
  const incident = JSON.parse(JSON.stringify(old));
  incident.title = form.title.value.trim();
  incident.id = form.id.value.trim() || slug(incident.title.split(/\s+/).slice(0, 8).join(" "), new Set());
  incident.summary = form.summary.value.trim();
  const [place, ...aliases] = form.place.value.split(",").map((a) => a.trim()).filter(Boolean);
  incident.place.name = place || "";
  incident.place.aliases = aliases;
  incident.place.country = form.country.value.trim();
  incident.date = { start: form.start.value || null, end: form.end.value || null,
    precision: form.precision.value, note: form.date_note.value.trim() };
  incident.status = form.status.value;
  incident.keywords = form.keywords.value.split(",").map((k) => k.trim()).filter(Boolean);
  const taken = new Set();
  incident.points = lines(form.points.value).map((text, n) => {
    const same = old.points.find((p) => p.text === text && !taken.has(p.id)) ||
      (old.points[n] && !taken.has(old.points[n].id) ? old.points[n] : null);
    if (same) {
      taken.add(same.id);
      return { ...same, text, translations: same.text === text ? same.translations : {} };
    }
    return { id: slug(text.split(/\s+/).slice(0, 4).join(" "), taken), text, translations: {} };
  });
  const pointIds = new Set(incident.points.map((p) => p.id));
  const accountIds = new Set();
  const unknown = [];
  incident.accounts = lines(form.accounts.value).map((line) => {
    const [name, summary] = splitFirst(line, ":");
    const source = sourceFor(name);
    if (!source) unknown.push(name);
    const sourceId = source ? source.id : slug(name, new Set());
    const same = old.accounts.find((a) => a.source === sourceId && !accountIds.has(a.id));
    const id = same ? same.id : slug(sourceId, new Set([...accountIds, ...old.accounts.map((a) => a.id)]));
    accountIds.add(id);
    const base = same || { published: null, url: null, language: null, stances: [], translations: {} };
    return { ...base, id, source: sourceId, summary,
      translations: same && same.summary === summary ? same.translations : {},
      figures: [], stances: (base.stances || []).filter((s) => pointIds.has(s.point)) };
  });
  for (const line of lines(form.figures.value)) {
    const [name, rest] = splitFirst(line, ":");
    const [label, phrase] = splitFirst(rest, ":");
    const account = incident.accounts.find((a) => sourceFor(name) && a.source === sourceFor(name).id);
    if (!account) { unknown.push(name); continue; }
    const numbered = /\s*#(\d+)\s*$/.exec(phrase);
    const raw = numbered ? phrase.slice(0, numbered.index).trim() : phrase;
    const point = numbered ? incident.points[Number(numbered[1]) - 1] : null;
    const before = (old.accounts.find((a) => a.id === account.id) || { figures: [] }).figures
      .find((f) => f.label === label && f.raw === raw);
    account.figures.push({ label, raw, min: before ? before.min : null, max: before ? before.max : null,
      point: point ? point.id : null, translations: before ? before.translations : {} });
  }
  for (const line of lines(form.links.value)) {
    const [name, rest] = splitFirst(line, ":");
    const account = incident.accounts.find((a) => sourceFor(name) && a.source === sourceFor(name).id);
    if (!account) { unknown.push(name); continue; }
    const parts = rest.split(/\s+/).filter(Boolean);
    account.url = parts.find((p) => /^https?:\/\//.test(p)) || null;
    account.published = parts.find((p) => /^\d{4}-\d{2}-\d{2}$/.test(p)) || null;
  }
  const noted = new Set();
  for (const line of lines(form.notes.value)) {
    const [where, note] = splitFirst(line, ":");
    const at = /^(.*?)\s*#(\d+)$/.exec(where);
    const source = at ? sourceFor(at[1]) : null;
    const account = source ? incident.accounts.find((a) => a.source === source.id) : null;
    const point = at ? incident.points[Number(at[2]) - 1] : null;
    if (!account || !point) { unknown.push(line); continue; }
    let stance = account.stances.find((s) => s.point === point.id);
    if (!stance) account.stances.push(stance = { point: point.id, stance: "silent", note: "", translations: {} });
    if (stance.note !== note) stance.translations = {};
    stance.note = note;
    noted.add(account.id + "#" + point.id);
  }
  for (const account of incident.accounts) {
    for (const stance of account.stances) {
      if (stance.note && !noted.has(account.id + "#" + stance.point)) { stance.note = ""; stance.translations = {}; }
    }
  }
  incident.posts = [];
  for (const line of lines(form.posts.value)) {
    const post = /^(@[A-Za-z0-9_]{4,32}|-100\d{5,15})\/(\d+)$/.exec(line.replace(/^https:\/\/t\.me\//, "@"));
    if (post) incident.posts.push({ channel: post[1], message_id: Number(post[2]) });
    else unknown.push("post " + line);
  }
  return { incident, unknown };
}

function drawGrid() {
  const table = document.getElementById("grid");
  const incident = state.incident;
  const head = el("tr");
  head.append(el("th", T("Point"), { scope: "col" }));
  for (const account of incident.accounts) head.append(el("th", sourceName(account.source), { scope: "col" }));
  const rows = incident.points.map((point, n) => {
    const row = el("tr");
    row.append(el("th", (n + 1) + ". " + point.text, { scope: "row" }));
    for (const account of incident.accounts) {
      const current = (account.stances.find((s) => s.point === point.id) || { stance: "silent" }).stance;
      const cell = el("td");
      const group = el("div", null, { class: "stances", role: "group",
        "aria-label": T("{source} on point {number}", { source: sourceName(account.source), number: n + 1 }) });
      for (const [stance, mark] of STANCES) {
        const button = el("button", mark, { type: "button", title: T(stance), "aria-label": T(stance),
          "aria-pressed": String(stance === current), "data-stance": stance });
        button.addEventListener("click", () => setStance(account, point, stance));
        group.append(button);
      }
      cell.append(group);
      row.append(cell);
    }
    return row;
  });
  table.replaceChildren(el("thead"), el("tbody"));
  table.tHead.append(head);
  table.tBodies[0].append(...rows);
}

function setStance(account, point, stance) {
  const existing = account.stances.find((s) => s.point === point.id);
  if (existing) existing.stance = stance;
  else account.stances.push({ point: point.id, stance, note: "", translations: {} });
  drawGrid();
}

function refreshGrid() {
  state.incident = fromForm().incident;
  drawGrid();
  drawMedia();
  drawTranslations();
}

function drawMedia() {
  const list = document.getElementById("media-list");
  const media = state.incident.media || [];
  list.replaceChildren(...media.map((item, n) => {
    const row = el("li", T(item.kind) + " · " + T("{count} fingerprints", { count: (item.fingerprints || []).length }) +
      (item.width ? " · " + item.width + "×" + item.height : ""));
    const note = el("input", null, { "aria-label": T("where it first appeared"), placeholder: T("where it first appeared") });
    note.value = item.note || "";
    note.addEventListener("input", () => { item.note = note.value; });
    const drop = el("button", T("Remove"), { type: "button" });
    drop.addEventListener("click", () => { media.splice(n, 1); drawMedia(); });
    row.append(note, drop);
    return row;
  }));
  if (!media.length) list.append(el("li", T("None recorded.")));
}

// Every text of the record beside its translation in the chosen language.
function drawTranslations() {
  const language = document.getElementById("language").value;
  const box = document.getElementById("translation-fields");
  const incident = state.incident;
  const fields = [];
  const own = () => incident.translations[language] || (incident.translations[language] = { title: "" });
  const field = (label, original, current, write) => {
    if (!original) return;
    const input = el(original.length > 80 ? "textarea" : "input", null, { lang: language,
      dir: language === "ar" ? "rtl" : "ltr", "aria-label": label + " (" + language + ")" });
    input.value = current || "";
    input.addEventListener("input", () => write(input.value.trim()));
    const wrap = el("label", label + ": " + original);
    wrap.append(input);
    fields.push(wrap);
  };
  const incidentField = (name, label, original) => field(label, original,
    (incident.translations[language] || {})[name], (value) => {
      const entry = own();
      if (value) entry[name] = value; else delete entry[name];
      if (!Object.values(entry).some(Boolean)) delete incident.translations[language];
    });
  incidentField("title", T("Title"), incident.title);
  incidentField("summary", T("Summary"), incident.summary);
  incidentField("place", T("Place"), incident.place.name);
  incidentField("country", T("Country"), incident.place.country);
  incidentField("date_note", T("Date note"), incident.date.note);
  const mapField = (label, original, record) => field(label, original, (record.translations || {})[language],
    (value) => {
      record.translations = record.translations || {};
      if (value) record.translations[language] = value; else delete record.translations[language];
    });
  incident.points.forEach((p, n) => mapField(T("Point {number}", { number: n + 1 }), p.text, p));
  for (const account of incident.accounts) {
    const name = sourceName(account.source);
    mapField(name, account.summary, account);
    for (const figure of account.figures) mapField(name + " · " + T("figure"), figure.label, figure);
    for (const stance of account.stances) if (stance.note) mapField(name + " · " + T("note"), stance.note, stance);
  }
  box.replaceChildren(...fields);
}

function problemsOf(error) {
  const problems = (error.data && error.data.problems) || [];
  return problems.length ? problems.join("; ") : error.message;
}

async function save() {
  const form = document.getElementById("incident-form");
  const title = state.incident.translations;
  for (const [language, entry] of Object.entries(title)) {
    if (!entry.title) {
      say(T("A translation needs its title first ({language}).", { language }), true);
      return;
    }
  }
  if (form.new_sources.value.trim()) {
    try {
      await saveSources(form.new_sources.value);
      form.new_sources.value = "";
    } catch (error) {
      say(T("Sources not saved: {problems}", { problems: problemsOf(error) }), true);
      return;
    }
  }
  const read = fromForm();
  if (read.unknown.length) {
    say(T("Not understood: {items} (unknown sources go under New sources).",
      { items: [...new Set(read.unknown)].join(", ") }), true);
    return;
  }
  try {
    const saved = state.version === null
      ? await api("POST", "/incidents", { incident: read.incident })
      : await api("PUT", "/incidents/" + encodeURIComponent(read.incident.id),
        { incident: read.incident, version: state.version });
    state.incident = saved.incident;
    state.version = saved.version;
    toForm();
    say(T("Saved (version {version}).", { version: saved.version }));
  } catch (error) {
    if (error.status === 409 && error.data && error.data.current) {
      say(T("Not saved: someone else saved version {version} meanwhile. Reopen the incident to see their change, then make yours again.",
        { version: error.data.current.version }), true);
    } else {
      say(T("Not saved: {problems}", { problems: problemsOf(error) }), true);
    }
  }
}

async function remove() {
  if (state.version === null) return;
  try {
    await api("DELETE", "/incidents/" + encodeURIComponent(state.incident.id), {});
    say(T("Deleted {id}. Undo it under Audit.", { id: state.incident.id }));
    show("incidents");
    await search();
  } catch (error) {
    say(error.message, true);
  }
}

// --- queue and audit ------------------------------------------------------------------

async function loadQueue() {
  const entries = await api("GET", "/queue");
  const list = document.getElementById("queue-list");
  list.replaceChildren(...entries.map((entry) => {
    const row = el("li");
    row.append(el("div", "×" + entry.times_asked + " · " + T("{count} waiting", { count: entry.waiting }) +
      (entry.judged_wrong ? " · " + T("answered with {incident}, judged wrong", { incident: entry.judged_wrong }) : "")),
    el("div", entry.text));
    // Linking starts from a search: the claim itself first, as the matcher reads it.
    const target = el("input", null, { "aria-label": T("Find the incident"), type: "search" });
    target.value = entry.text.slice(0, 200);
    const find = el("button", T("Find the incident"), { type: "button" });
    const choices = el("div", null, { class: "actions" });
    find.addEventListener("click", async () => {
      try {
        const found = await api("GET", "/incidents?q=" + encodeURIComponent(target.value.trim()));
        choices.replaceChildren(...found.slice(0, 5).map((item) => {
          const link = el("button", T("Link to: {title}", { title: item.title }), { type: "button" });
          link.addEventListener("click", async () => {
            try {
              const result = await api("POST", "/queue/" + entry.id + "/link", { incident: item.id });
              say(T("Linked; {count} told.", { count: result.told }));
              await loadQueue();
            } catch (error) { say(error.message, true); }
          });
          return link;
        }));
        if (!found.length) choices.replaceChildren(el("span", T("Nothing found: search other words."), { class: "muted" }));
      } catch (error) { say(error.message, true); }
    });
    const dismiss = el("button", T("Dismiss"), { type: "button" });
    dismiss.addEventListener("click", async () => {
      try { await api("POST", "/queue/" + entry.id + "/dismiss", {}); await loadQueue(); }
      catch (error) { say(error.message, true); }
    });
    row.append(target, find, dismiss, choices);
    return row;
  }));
  if (!entries.length) list.append(el("li", T("The queue is empty.")));
}

async function loadAudit(event) {
  if (event) event.preventDefault();
  const filter = document.getElementById("audit-filter");
  const query = new URLSearchParams();
  if (filter.action.value.trim()) query.set("action", filter.action.value.trim());
  if (filter.user.value.trim()) query.set("user", filter.user.value.trim());
  if (filter.refusals.checked) query.set("refusals", "1");
  const events = await api("GET", "/audit?" + query.toString());
  document.getElementById("audit-list").replaceChildren(...events.map((e) =>
    el("li", e.at.slice(0, 16).replace("T", " ") + " · " + e.who + " · " + e.action + " " + e.entity + " " + e.key)));
}

async function loadTeam() {
  const team = await api("GET", "/moderators");
  const list = document.getElementById("team-list");
  list.replaceChildren(
    ...team.admins.map((id) => el("li", id + " · " + T("admin") + " (ADMIN_IDS)")),
    ...team.moderators.map((m) => {
      const row = el("li", m.id + " · " + (m.name || "") + " · " + T(m.role));
      const remove = el("button", T("Remove"), { type: "button" });
      remove.addEventListener("click", async () => {
        try { await api("DELETE", "/moderators/" + m.id, {}); await loadTeam(); }
        catch (error) { say(error.message, true); }
      });
      row.append(remove);
      return row;
    }));
}

async function appoint(event) {
  event.preventDefault();
  const form = event.target;
  try {
    await api("POST", "/moderators", { id: Number(form.id.value), name: form.name.value.trim() });
    form.reset();
    await loadTeam();
  } catch (error) { say(error.message, true); }
}

async function undo() {
  try {
    const result = await api("POST", "/undo", {});
    say(T("Undone: {action} of {key}.", { action: result.undone, key: result.key }));
    await loadAudit();
  } catch (error) { say(error.message, true); }
}

// --- start ----------------------------------------------------------------------------

async function start() {
  applyTheme();
  if (telegram) { telegram.ready(); telegram.expand(); }
  document.getElementById("search").addEventListener("submit", search);
  document.getElementById("new-incident").addEventListener("click", () => openIncident(null));
  document.getElementById("save").addEventListener("click", save);
  document.getElementById("delete").addEventListener("click", remove);
  document.getElementById("back").addEventListener("click", () => { show("incidents"); search(); });
  document.getElementById("source-form").addEventListener("submit", addSources);
  document.getElementById("undo").addEventListener("click", undo);
  document.getElementById("audit-filter").addEventListener("submit", loadAudit);
  document.getElementById("appoint").addEventListener("submit", appoint);
  document.getElementById("source-edit").addEventListener("submit", saveSource);
  document.getElementById("import-preview").addEventListener("click", () => importFile(true));
  document.getElementById("import-apply").addEventListener("click", () => importFile(false));
  document.getElementById("export").addEventListener("click", exportAll);
  document.getElementById("language").addEventListener("change", drawTranslations);
  for (const name of ["points", "accounts", "new_sources"]) {
    document.getElementById("incident-form")[name].addEventListener("input", refreshGrid);
  }
  for (const button of document.querySelectorAll("nav button")) {
    button.addEventListener("click", async () => {
      show(button.dataset.view);
      try {
        if (button.dataset.view === "incidents") await search();
        if (button.dataset.view === "sources") await loadSources();
        if (button.dataset.view === "queue") await loadQueue();
        if (button.dataset.view === "audit") await loadAudit();
        if (button.dataset.view === "team") await loadTeam();
      } catch (error) { say(error.message, true); }
    });
  }
  try {
    const me = await api("GET", "/me");
    words = me.words || {};
    translatePage(me.language || "en");
    say(T("Signed in as {name} ({role})", { name: me.name || me.id, role: T(me.role) }));
    state.role = me.role;
    document.querySelector("nav button[data-view=team]").hidden = me.role !== "admin";
    await loadSources();
    const incidents = await search();
    // An empty desk has one thing to do: record the first incident.
    if (!incidents.length) await openIncident(null);
  } catch (error) {
    say(error.message, true);
  }
}

start();
