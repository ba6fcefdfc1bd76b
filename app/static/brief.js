// Brief's reader: send the article to /api/evaluate and show it with its highlights.
// Article text only ever reaches the page through textContent, never innerHTML: pasted HTML is sent
// to the service, which extracts the article's text; the page shows that text, never the markup.
"use strict";

const TOP = 5; // tier 1: Brief's "Top Highlights"
const TIER2_SHARE = 0.15; // tier 2: the next best, up to 15% of the sentences

const KEY_STORE = "brief-api-key"; // sessionStorage: the key lives as long as this tab
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

// Sentence index -> tier (1 or 2), from the sentences ranked best first.
function tiers(ranked) {
  const tierOf = new Map();
  const tier2End = Math.floor(ranked.length * TIER2_SHARE);
  ranked.forEach((s, rank) => {
    if (rank < TOP) tierOf.set(s.index, 1);
    else if (rank < tier2End) tierOf.set(s.index, 2);
  });
  return tierOf;
}

function renderArticle(text, result) {
  // Offsets count Unicode code points (Python string indices), so slice code points, not UTF-16 units.
  const chars = Array.from(text);
  const tierOf = tiers(result.scored_article_sentences);
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
      body: JSON.stringify({ ...source, title, model, top: TOP }),
    });
    const body = await response.json();
    if (response.status === 401) $("key-row").hidden = false; // this server wants an API key: ask for it
    if (!response.ok) {
      setStatus(body.error ? body.error.message : `error ${response.status}`, true);
      return;
    }
    if (key) sessionStorage.setItem(KEY_STORE, key);
    $("article-title").textContent = body.title || "Untitled";
    const origin = body.url ? ` · from ${body.url}` : source.html ? " · extracted from the pasted page" : "";
    $("meta").textContent = `${body.scored_article_sentences.length} sentences · scored by ${body.model}${origin}`;
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
if (sessionStorage.getItem(KEY_STORE)) {
  $("api-key").value = sessionStorage.getItem(KEY_STORE);
  $("key-row").hidden = false;
}
loadSamples().then(
  () => { document.body.dataset.ready = "true"; },
  (error) => setStatus(`Could not load the samples: ${error.message}`, true),
);
