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
let have = 0; // the newest message id on screen
let reading = false;

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
  const time = new Date(message.sent_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
  who.textContent = `${sender(message)} · ${time}` + (message.to ? ` · ${chat.dataset.textPrivate}` : "");
  const text = document.createElement("span");
  text.className = "chat-text";
  text.textContent = message.text;
  item.append(who, text);
  log.append(item);
  log.scrollTop = log.scrollHeight;
}

async function catchUp(last) {
  if (reading || last === null || last === undefined || last <= have) return;
  reading = true;
  try {
    const before = have;
    while (have < last) {
      const response = await fetch(`${data.messages_url}&after=${have}`);
      if (!response.ok) return;
      const { messages } = await response.json();
      if (!messages.length) return;
      messages.forEach(add);
    }
    if (before > 0 && document.activeElement !== input) badge.hidden = false; // not on first load
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
  }).catch(() => null);
  if (response && response.ok) {
    input.value = "";
    errorLine.hidden = true;
    add((await response.json()).message);
  } else {
    const answer = response ? await response.json().catch(() => ({})) : {};
    errorLine.textContent = (answer.error && answer.error.message) || "Not sent: offline";
    errorLine.hidden = false; // the text stays in the box, to send again
  }
});
