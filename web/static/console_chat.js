// The booking's chat on the studio console: messages from production (to everyone or to this
// studio alone) and from the partners, read when the state poll's `last_message` grows (a
// console back from a drop catches up the same way); the operator writes to everyone or,
// privately, to production. Text is always shown as text, never markup.
const data = JSON.parse(document.getElementById("console-data").textContent);
const chat = document.getElementById("chat");
const log = document.getElementById("chat-log");
const form = document.getElementById("chat-form");
const input = document.getElementById("chat-text");
const privately = document.getElementById("chat-private");
const badge = document.getElementById("chat-new");
const errorLine = document.getElementById("chat-error");
const names = Object.fromEntries((data.partners || []).map((p) => [p.id, p.name]));
// Times as the studio's own clock shows them (the first of the console's clocks).
const zone = (document.querySelector(".clock[data-zone]") || {}).dataset?.zone;
// A request that gets no answer ends: a read that hung would hold every later one back.
const REQUEST_TIMEOUT_MS = 10_000;
let have = 0; // the newest message id on screen
let reading = false;
let caughtUp = false; // the history on opening the page is read, not announced

function sender(message) {
  if (message.from === null) return chat.dataset.textProduction;
  if (message.from === data.studio) return chat.dataset.textYou;
  return names[message.from] || message.from;
}

function add(message) {
  if (message.id <= have) return;
  have = message.id;
  const item = document.createElement("li");
  item.className = "chat-item";
  item.dataset.from = message.from === null ? "production" : message.from;
  const who = document.createElement("span");
  who.className = "chat-who";
  const time = new Date(message.sent_at).toLocaleTimeString([], { timeZone: zone, hour: "2-digit", minute: "2-digit", hour12: false });
  who.textContent = `${sender(message)} · ${time}` + (message.to ? ` · ${chat.dataset.textPrivate}` : "");
  const text = document.createElement("span");
  text.className = "chat-text";
  text.textContent = message.text;
  item.append(who, text);
  log.append(item);
  log.scrollTop = log.scrollHeight;
}

async function catchUp(last) {
  if (reading || last === null || last === undefined) return;
  if (last <= have) {
    caughtUp = true;
    return;
  }
  reading = true;
  try {
    const before = have;
    while (have < last) {
      const response = await fetch(`${data.messages_url}&after=${have}`, {
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      if (!response.ok) return;
      const { messages } = await response.json();
      if (!messages.length) break;
      messages.forEach(add);
    }
    if (caughtUp && have > before && document.activeElement !== input) badge.hidden = false;
    caughtUp = true;
  } finally {
    reading = false;
  }
}

document.addEventListener("telebridge:state", (event) => catchUp(event.detail.last_message).catch(() => {}));
input.addEventListener("focus", () => { badge.hidden = true; });

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  const body = privately.checked ? { text, to: data.studio } : { text };
  const response = await fetch(data.messages_url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  }).catch(() => null);
  if (response && response.ok) {
    if (input.value.trim() === text) input.value = ""; // not the next one, typed meanwhile
    errorLine.hidden = true;
    add((await response.json()).message);
  } else {
    const answer = response ? await response.json().catch(() => ({})) : {};
    errorLine.textContent = (answer.error && answer.error.message) || chat.dataset.textOffline;
    errorLine.hidden = false; // the text stays in the box, to send again
  }
});
