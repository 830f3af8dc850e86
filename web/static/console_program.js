// The program put away at the console (or taken back). The bridge then stops sending the
// return feed, the operator hears every partner directly, and a room whose consoles all show
// only their partners composes no program picture at all (it costs what the relay costs).
// The choice is kept for this booking and studio in this browser, goes with every offer, and
// is sent again whenever the state poll says the bridge has it otherwise (a server restart).

const data = JSON.parse(document.getElementById("console-data").textContent);
const tile = document.getElementById("program-tile"); // absent: the room has no program
const button = document.getElementById("program-away");
const KEY = `telebridge:program-shown:${data.booking}:${data.studio}`;
let shown = localStorage.getItem(KEY) !== "0";

function apply() {
  tile.dataset.putAway = String(!shown);
  button.setAttribute("aria-pressed", String(!shown));
  button.textContent = shown ? button.dataset.textHide : button.dataset.textShow;
  button.title = shown ? button.dataset.titleHide : button.dataset.titleShow;
  document.dispatchEvent(new CustomEvent("telebridge:program-shown", { detail: shown }));
}

async function tell() {
  await fetch(data.program_url, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ shown }),
  }).catch(() => {}); // the next state poll sends it again
}

if (tile && button) {
  button.addEventListener("click", () => {
    shown = !shown;
    localStorage.setItem(KEY, shown ? "1" : "0");
    apply();
    if (window.telebridge && window.telebridge.wantJoined) tell();
  });
  document.addEventListener("telebridge:state", (event) => {
    const said = event.detail.program_shown;
    if (typeof said === "boolean" && said !== shown) tell();
  });
  apply();
}
