// The control room's cues, chat and studio calls (_control_direction.html). Everything is read
// back from the server once a second: the newest cue to each studio (is it acknowledged?), the
// chat after the last message on screen, and the studios calling production, whose multiview
// tiles ([data-tile="<studio>"]) flash until a producer answers. Several producers may have the
// page open: each sees the others' cues, messages and answers at the next poll. Text from the
// studios is always put on the page as text, never as markup.
import { answered } from "./answered.js";

const panel = document.getElementById("control-direction");
const api = `/api/bookings/${panel.dataset.booking}`;
const POLL_MS = 1000;
const errorLine = panel.querySelector("[data-direction-error]");
const chatLog = panel.querySelector("[data-chat-log]");
const chatForm = panel.querySelector("[data-chat-form]");
const chatText = panel.querySelector("[data-chat-text]");
const chatTo = panel.querySelector("[data-chat-to]");
const rows = new Map([...panel.querySelectorAll("[data-direction-studio]")].map((r) => [r.dataset.directionStudio, r]));
const names = new Map([...rows].map(([id, row]) => [id, row.dataset.name]));
let have = 0; // the newest message id on screen
let calling = new Set(); // the studios whose call is on screen

async function request(method, path, body) {
  const init = { method, headers: {} };
  if (method !== "GET") {
    init.headers["X-CSRF-Token"] = panel.dataset.csrf;
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body || {});
  }
  return answered(panel.dataset.textOffline, `${api}/${path}`, init);
}

function fail(err) {
  errorLine.textContent = err && err.message ? err.message : panel.dataset.textOffline;
  errorLine.hidden = false;
}

function clock(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}

// Cues ------------------------------------------------------------------------------------

function cueLabel(row, cue) {
  if (cue.cue === "free") return cue.text;
  const button = row.querySelector(`[data-cue="${cue.cue}"]`);
  const label = button ? button.textContent : cue.cue;
  return cue.text ? `${label} · ${cue.text}` : label;
}

function showCue(cue) {
  const row = rows.get(cue.studio);
  if (!row) return;
  const state = row.querySelector("[data-cue-state]");
  const acknowledged = cue.acknowledged_at !== null;
  const said = acknowledged
    ? panel.dataset.textAcknowledged.replace("%(time)s", clock(cue.acknowledged_at))
    : panel.dataset.textWaiting;
  const text = `${cueLabel(row, cue)} — ${said}`;
  if (state.textContent !== text) state.textContent = text; // unchanged: nothing re-announced
  state.dataset.acknowledged = String(acknowledged);
  for (const b of row.querySelectorAll("[data-cue]")) b.setAttribute("aria-pressed", String(b.dataset.cue === cue.cue && !acknowledged));
}

async function sendCue(studio, body) {
  try {
    const { cue } = await request("POST", "cues", { studio, ...body });
    errorLine.hidden = true;
    showCue(cue);
    return true;
  } catch (err) {
    fail(err);
    return false;
  }
}

for (const [studio, row] of rows) {
  for (const button of row.querySelectorAll("[data-cue]")) {
    button.addEventListener("click", () => sendCue(studio, { cue: button.dataset.cue }));
  }
  const free = row.querySelector("[data-free-cue]");
  free.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = free.querySelector("input");
    const text = input.value.trim();
    if (text && (await sendCue(studio, { cue: "free", text })) && input.value.trim() === text) {
      input.value = "";
    }
  });
  row.querySelector("[data-answer]").addEventListener("click", () => answer(studio));
}

// Chat ------------------------------------------------------------------------------------

function addMessage(message) {
  if (message.id <= have) return;
  have = message.id;
  const item = document.createElement("li");
  item.className = "control-chat-item";
  item.dataset.from = message.from === null ? "production" : message.from;
  const who = document.createElement("span");
  who.className = "control-chat-who";
  const sender = message.from === null
    ? `${message.author} (${panel.dataset.textProduction})`
    : names.get(message.from) || message.from;
  let to = panel.dataset.textEveryone;
  if (message.to !== null) {
    to = message.from === null
      ? panel.dataset.textPrivate.replace("%(studio)s", names.get(message.to) || message.to)
      : panel.dataset.textFromPrivate;
    item.classList.add("is-private");
  }
  who.textContent = `${clock(message.sent_at)} · ${sender} · ${to}`;
  const text = document.createElement("span");
  text.className = "control-chat-text";
  text.textContent = message.text;
  item.append(who, text);
  chatLog.append(item);
  chatLog.scrollTop = chatLog.scrollHeight;
}

async function readPages() {
  for (;;) {
    const { messages } = await request("GET", `messages?after=${have}`);
    messages.forEach(addMessage);
    if (messages.length < 200) return; // a page of 200 means there may be more
  }
}

// One read after the other, each from the newest message on screen: the log keeps the
// server's order, and none is skipped by a read that overtook another.
let reading = Promise.resolve();
function readMessages() {
  reading = reading.then(readPages, readPages);
  return reading;
}

chatForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = chatText.value.trim();
  if (!text) return;
  const body = chatTo.value ? { text, to: chatTo.value } : { text };
  try {
    await request("POST", "messages", body);
    // Only what was sent leaves the box: the producer may already be typing the next one.
    if (chatText.value.trim() === text) chatText.value = "";
    errorLine.hidden = true;
    await readMessages(); // shown in the server's order, after what others wrote before it
  } catch (err) {
    fail(err); // the text stays in the box, to send again
  }
});

// Calls -----------------------------------------------------------------------------------

function tilesOf(studio) {
  return document.querySelectorAll(`[data-tile="${CSS.escape(studio)}"]`);
}

function showCalls(calls) {
  const now = new Set(calls.map((c) => c.studio));
  for (const studio of new Set([...now, ...calling])) {
    const on = now.has(studio);
    for (const tile of tilesOf(studio)) tile.classList.toggle("is-calling", on);
    const row = rows.get(studio);
    if (row) {
      row.classList.toggle("is-calling", on);
      row.querySelector("[data-call]").hidden = !on;
    }
  }
  calling = now;
}

async function answer(studio) {
  try {
    await request("POST", `calls/${encodeURIComponent(studio)}/answer`);
    errorLine.hidden = true;
    showCalls([...calling].filter((s) => s !== studio).map((s) => ({ studio: s })));
  } catch (err) {
    fail(err);
  }
}

// Polling ---------------------------------------------------------------------------------

async function poll() {
  try {
    const [{ calls }, { cues }] = await Promise.all([
      request("GET", "calls"),
      request("GET", "cues?latest=true"),
      readMessages(),
    ]);
    showCalls(calls);
    cues.forEach(showCue);
  } catch (err) {
    fail(err);
  } finally {
    setTimeout(poll, POLL_MS); // the next poll only after this one: never two at once
  }
}

poll();
