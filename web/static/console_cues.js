// The producer's cue on the studio console: shown large next to the tally from the console's
// state poll (console.js hands each answer over), until the operator clicks "Got it". A cue
// sent while the console was offline shows when it is back: the server keeps it.
const data = JSON.parse(document.getElementById("console-data").textContent);
const box = document.getElementById("cue");
const label = document.getElementById("cue-label");
const text = document.getElementById("cue-text");
const ack = document.getElementById("cue-ack");
const REQUEST_TIMEOUT_MS = 10000; // an unanswered "Got it" ends, and the button comes back
let shown = null; // the id of the cue on screen
const acknowledged = new Set(); // acknowledged here; the next poll may not say so yet

function show(cue) {
  if (!cue || cue.acknowledged_at || acknowledged.has(cue.id)) {
    box.hidden = true;
    shown = null;
    return;
  }
  if (shown === cue.id) return;
  shown = cue.id;
  box.dataset.cue = cue.cue;
  label.textContent = box.dataset[`label-${cue.cue}`.replace(/-([a-z])/g, (_, c) => c.toUpperCase())] || cue.cue;
  text.textContent = cue.text || ""; // text, never markup
  box.hidden = false;
  ack.disabled = false;
}

document.addEventListener("telebridge:state", (event) => show(event.detail.cue));

ack.addEventListener("click", async () => {
  if (shown === null) return;
  const id = shown;
  ack.disabled = true;
  const response = await fetch(data.cue_ack_url.replace("{cue}", String(id)), {
    method: "POST",
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  }).catch(() => null);
  if (response && response.ok) {
    acknowledged.add(id);
    show(null);
  } else {
    ack.disabled = false; // offline for a moment: the operator can click again
  }
});
