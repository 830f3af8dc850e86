// The console's cough key: the studio's microphone off at the source (its track sends
// silence) and the bridge told, so that the producer's sound desk says why the studio is
// silent. The key survives a device change and a reconnect: each state poll says what the
// desk shows, and a difference is sent again.

const data = JSON.parse(document.getElementById("console-data").textContent);
const key = document.getElementById("mic-off");
let off = false;

function applyToTracks() {
  const stream = window.telebridge && window.telebridge.stream;
  if (stream) for (const track of stream.getAudioTracks()) track.enabled = !off;
}

function show() {
  key.setAttribute("aria-pressed", String(off));
  key.textContent = off ? key.dataset.textOff : key.dataset.textOn;
}

async function tell() {
  await fetch(data.microphone_url, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ off }),
  }).catch(() => {}); // the next state poll sends it again
}

key.addEventListener("click", () => {
  off = !off;
  applyToTracks();
  show();
  if (window.telebridge && window.telebridge.wantJoined) tell();
});
document.addEventListener("telebridge:stream", applyToTracks);
document.addEventListener("telebridge:state", (event) => {
  if (typeof event.detail.mic_off === "boolean" && event.detail.mic_off !== off) tell();
});
