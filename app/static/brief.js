// Brief's reader: send the article to /api/evaluate and show it with its highlights.
// Article text only ever reaches the page through textContent, never innerHTML: pasted HTML is sent
// to the service, which extracts the article's text; the page shows that text, never the markup.
"use strict";

const TIER2_SHARE = 0.15; // tier 2: the next best after the highlights, up to 15% of the sentences
const KEYWORDS = 8; // key phrases shown above the article

const KEY_STORE = "brief-api-key"; // sessionStorage: the key lives as long as this tab
const OPTIONS_STORE = "brief-options"; // sessionStorage: the length and the filters, for as long as this tab
// The length control: how many sentences (top), words, or percent of the sentences (ratio); each unit's default.
const BUDGET_DEFAULTS = { top: 5, words: 75, ratio: 20 };
const $ = (id) => document.getElementById(id);
// A web page rather than text: the same rule as app/ingest/extraction.py's looks_like_html.
const HTML_START = /^\s*(<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])/i;
const HTML_BLOCKS = /<\/(p|div|article|section|h[1-6]|li|main|body)\s*>/i;
const looksLikeHTML = (text) => HTML_START.test(text) || HTML_BLOCKS.test(text);
let samples = [];

function setStatus(message, isError = false) {
  $("status").textContent = message;
  $("status").classList.toggle("error", isError);
}

async function loadSamples() {
  const response = await fetch("/api/samples");
  samples = (await response.json()).samples;
  for (const sample of samples) {
    const option = document.createElement("option");
    option.value = sample.id;
    option.textContent = sample.title;
    $("sample").append(option);
  }
}

function pickSample() {
  const sample = samples.find((s) => s.id === $("sample").value);
  if ($("url")) $("url").value = "";
  $("title").value = sample ? sample.title : "";
  $("text").value = sample ? sample.text : "";
}

// Sentence index -> tier: 1 for the highlights, 2 for the next best (by score) up to 15% of the sentences.
function tiers(result) {
  const tierOf = new Map(result.highlights.map((index) => [index, 1]));
  const tier2End = Math.floor(result.scored_article_sentences.length * TIER2_SHARE);
  for (const s of result.scored_article_sentences) {
    if (tierOf.size >= tier2End) break;
    if (!tierOf.has(s.index)) tierOf.set(s.index, 2);
  }
  return tierOf;
}

// The length and filters as the API's options: {top|words|ratio, avoid}.
function readOptions() {
  const unit = $("budget-unit").value;
  const value = Number($("budget-value").value);
  const avoid = [...document.querySelectorAll("input[name=avoid]:checked")].map((box) => box.value);
  return { [unit]: unit === "ratio" ? value / 100 : value, avoid };
}

function saveOptions() {
  const values = JSON.parse(sessionStorage.getItem(OPTIONS_STORE) || "{}").values || {};
  values[$("budget-unit").value] = $("budget-value").value;
  const avoid = [...document.querySelectorAll("input[name=avoid]:checked")].map((box) => box.value);
  sessionStorage.setItem(OPTIONS_STORE, JSON.stringify({ unit: $("budget-unit").value, values, avoid }));
}

function restoreOptions() {
  const saved = JSON.parse(sessionStorage.getItem(OPTIONS_STORE) || "{}");
  if (saved.unit in BUDGET_DEFAULTS) $("budget-unit").value = saved.unit;
  showBudget((saved.values || {})[$("budget-unit").value]);
  for (const box of document.querySelectorAll("input[name=avoid]")) box.checked = (saved.avoid || []).includes(box.value);
}

// The value box for the chosen unit: the value last used with it in this tab, else the unit's default.
function showBudget(value) {
  const unit = $("budget-unit").value;
  $("budget-value").max = unit === "ratio" ? "100" : "";
  $("budget-value").value = value ?? BUDGET_DEFAULTS[unit];
}

function describeBudget(budget) {
  if (!budget) return "";
  if (budget.words) return ` · within ${budget.words} words`;
  if (budget.chars) return ` · within ${budget.chars} characters`;
  return ` · ${Math.round(budget.ratio * 100)}% of the sentences`;
}

function renderKeywords(keywords) {
  const list = $("keywords");
  list.replaceChildren();
  for (const k of keywords || []) {
    const item = document.createElement("li");
    item.textContent = k.phrase;
    item.title = `score ${k.score.toFixed(2)}`;
    const count = document.createElement("span");
    count.className = "count";
    count.textContent = `×${k.count}`;
    item.append(count);
    list.append(item);
  }
  list.hidden = !list.children.length;
}

function renderArticle(text, result) {
  // Offsets count Unicode code points (Python string indices), so slice code points, not UTF-16 units.
  const chars = Array.from(text);
  const tierOf = tiers(result);
  const inOrder = [...result.scored_article_sentences].sort((a, b) => a.index - b.index);
  const article = $("article");
  article.replaceChildren();
  let position = 0;
  for (const s of inOrder) {
    article.append(document.createTextNode(chars.slice(position, s.start).join("")));
    const span = document.createElement("span");
    span.className = "sentence";
    span.id = `sentence-${s.index}`;
    span.dataset.index = s.index;
    span.dataset.score = s.score;
    span.title = `score ${s.score.toFixed(3)}`;
    const tier = tierOf.get(s.index);
    if (tier) span.classList.add(`tier-${tier}`);
    span.textContent = chars.slice(s.start, s.end).join("");
    article.append(span);
    position = s.end;
  }
  article.append(document.createTextNode(chars.slice(position).join("")));
}

function renderSidebar(result) {
  const byIndex = new Map(result.scored_article_sentences.map((s) => [s.index, s]));
  const list = $("top-highlights");
  list.replaceChildren();
  for (const index of result.highlights) {
    const s = byIndex.get(index);
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "highlight-link";
    button.dataset.index = index;
    const meta = document.createElement("span");
    meta.className = "highlight-meta";
    meta.textContent = `score ${s.score.toFixed(2)} · ${s.scroll.toFixed(1)}%`;
    const sentence = document.createElement("span");
    sentence.className = "highlight-text";
    sentence.textContent = s.sent;
    button.append(meta, sentence);
    button.addEventListener("click", () => focusSentence(index));
    item.append(button);
    list.append(item);
  }
}

function focusSentence(index) {
  const span = $(`sentence-${index}`);
  document.querySelectorAll(".sentence.focused").forEach((el) => el.classList.remove("focused"));
  span.classList.add("focused");
  span.scrollIntoView({ block: "center" });
}

function setMode(mode) {
  $("article").classList.toggle("mode-skim", mode === "skim");
  $("article").classList.toggle("mode-highlight", mode === "highlight");
  $("mode-skim").setAttribute("aria-pressed", String(mode === "skim"));
  $("mode-highlight").setAttribute("aria-pressed", String(mode === "highlight"));
}

async function submit(event) {
  event.preventDefault();
  const text = $("text").value;
  const url = $("url") ? $("url").value.trim() : "";
  const title = $("title").value.trim() || null;
  const model = document.querySelector("input[name=model]:checked").value;
  // A URL wins over the text box; pasted HTML goes as html, for the service to extract its article.
  const source = url ? { url } : looksLikeHTML(text) ? { html: text } : { text };
  setStatus(url ? "Fetching and scoring…" : "Scoring…");
  $("submit").disabled = true;
  try {
    const headers = { "Content-Type": "application/json" };
    const key = $("api-key").value.trim();
    if (key) headers.Authorization = `Bearer ${key}`;
    const response = await fetch("/api/evaluate", {
      method: "POST",
      headers,
      body: JSON.stringify({ ...source, title, model, ...readOptions(), keywords: KEYWORDS }),
    });
    const body = await response.json();
    if (response.status === 401) $("key-row").hidden = false; // this server wants an API key: ask for it
    if (!response.ok) {
      setStatus(body.error ? body.error.message : `error ${response.status}`, true);
      return;
    }
    if (key) sessionStorage.setItem(KEY_STORE, key);
    saveOptions();
    $("article-title").textContent = body.title || "Untitled";
    const origin = body.url ? ` · from ${body.url}` : source.html ? " · extracted from the pasted page" : "";
    $("meta").textContent = `${body.scored_article_sentences.length} sentences · scored by ${body.model}` +
      `${describeBudget(body.budget)}${origin}`;
    renderKeywords(body.keywords);
    // For HTML and URLs the offsets index the extracted text, which the service returns.
    renderArticle(body.text ?? text, body);
    renderSidebar(body);
    $("reader").hidden = false;
    $("sidebar").hidden = false;
    document.body.dataset.model = body.model;
    setStatus("");
  } catch (error) {
    setStatus(`The service did not answer: ${error.message}`, true);
  } finally {
    $("submit").disabled = false;
  }
}

$("sample").addEventListener("change", pickSample);
$("article-form").addEventListener("submit", submit);
$("mode-highlight").addEventListener("click", () => setMode("highlight"));
$("mode-skim").addEventListener("click", () => setMode("skim"));
// Switching scorer re-scores the article on show, so the two can be compared at a glance.
for (const radio of document.querySelectorAll("input[name=model]")) {
  radio.addEventListener("change", () => {
    if (!$("reader").hidden) $("article-form").requestSubmit();
  });
}
$("budget-unit").addEventListener("change", () => {
  showBudget((JSON.parse(sessionStorage.getItem(OPTIONS_STORE) || "{}").values || {})[$("budget-unit").value]);
});
restoreOptions();
if (sessionStorage.getItem(KEY_STORE)) {
  $("api-key").value = sessionStorage.getItem(KEY_STORE);
  $("key-row").hidden = false;
}
loadSamples().then(
  () => { document.body.dataset.ready = "true"; },
  (error) => setStatus(`Could not load the samples: ${error.message}`, true),
);
