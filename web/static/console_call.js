// "Call the producer" on the studio console: with talkback, the operators' way back to
// production. A press opens a call (pressing again keeps the same call open and restarts its
// minute); the button stays pressed, "Calling…", until the console's state poll says the call
// is over: a producer answered it, or a minute passed unanswered.
const data = JSON.parse(document.getElementById("console-data").textContent);
const button = document.getElementById("call-producer");
const errorLine = document.getElementById("call-error");
const CALL_MS = 60_000; // the server's call length (schedules/direction/calls.py)
const SETTLE_MS = 2_000; // a poll answered before the press may still say "not calling"
const OWN_POLL_MS = 2_500; // no state from console.js for this long: not joined, ask ourselves
const REQUEST_TIMEOUT_MS = 10_000; // an unanswered request ends (a hung one held the next back)
let calling = false;
let pressedAt = 0;
let polledAt = 0;
let asking = false;

function show(on) {
  calling = on;
  button.setAttribute("aria-pressed", String(on));
  button.textContent = on ? button.dataset.textCalling : button.dataset.textIdle;
}

function apply(state) {
  // No `call` at all: the poll ran without the database; the call is then not known.
  if (!("call" in state)) return;
  polledAt = Date.now();
  const on = state.call !== null;
  if (!on && Date.now() - pressedAt < SETTLE_MS) return;
  show(on);
}

document.addEventListener("telebridge:state", (event) => apply(event.detail));

// console.js polls the state only once joined, and an operator may call before (the camera
// will not start): while calling without its polls, this asks the same state itself.
setInterval(async () => {
  const now = Date.now();
  if (!calling || asking || now - polledAt < OWN_POLL_MS) return;
  asking = true;
  try {
    const response = await fetch(data.state_url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
      .catch(() => null);
    if (response && response.ok) apply(await response.json());
    else if (now - pressedAt > CALL_MS) show(false); // unreachable: the call has run out anyway
  } finally {
    asking = false;
  }
}, 1000);

button.addEventListener("click", async () => {
  button.disabled = true;
  const response = await fetch(data.call_url, {
    method: "POST",
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  }).catch(() => null);
  button.disabled = false;
  if (response && response.ok) {
    pressedAt = Date.now();
    errorLine.hidden = true;
    show(true);
  } else {
    errorLine.hidden = false; // offline for a moment, or the link has closed
  }
});
