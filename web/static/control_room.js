// The control room: the multiview over WebRTC (the program and every studio's own feed, as the
// bridge forwards them), switching by click and keys 1-6, the tiles' tally, link and level,
// and push-to-talk talkback from the producer's microphone to the studios chosen.
import { answered } from "./answered.js";

const root = document.getElementById("control-room");
const data = JSON.parse(document.getElementById("control-data").textContent);
const csrf = root.dataset.csrf;
const text = root.dataset;
const programTile = document.getElementById("mv-program");
const tiles = new Map([...document.querySelectorAll(".mv-tile")].map((t) => [t.dataset.tile, t]));
const linkEl = document.getElementById("control-link");
const linkText = document.getElementById("control-link-text");
const ptt = document.getElementById("ptt");
const talkStatus = document.getElementById("talkback-status");
const RETRY_MS = 3000;
const CLOSED_RETRY_MS = 5000;
const CONNECT_TIMEOUT_MS = 15000;
const DISCONNECTED_GRACE_MS = 4000;
const POLL_MS = 500;
const REQUEST_TIMEOUT_MS = 15000;
const TALK_RETRY_MS = 1000;
const METER_FLOOR = -60;

const state = { pc: null, session: null, mic: null, talking: false, retry: null, pending: false };

function setLink(quality, label) {
  linkEl.dataset.quality = quality;
  linkText.textContent = label;
}

async function api(url, method, body) {
  return answered(text.textNoAnswer, url, {
    method,
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    // Every request is bounded: an answer that never comes must not stop the tiles' polling
    // (they would go on showing a stale state as if it were true); it fails and is retried.
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
}

// --- the connection ------------------------------------------------------------------------

async function microphone() {
  if (state.mic) return state.mic;
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    [state.mic] = stream.getAudioTracks();
    state.mic.enabled = false; // nothing leaves the room's desk until the button is held
  } catch (err) {
    state.mic = null;
    talkStatus.textContent = text.textNoMic;
  }
  return state.mic;
}

function waitForIce(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState === "complete") resolve();
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, 3000); // host candidates are enough on a LAN; do not wait for ever
  });
}

function scheduleRetry(ms) {
  clearTimeout(state.retry);
  state.retry = setTimeout(connect, ms);
}

async function connect() {
  clearTimeout(state.retry);
  const old = state.pc;
  state.pc = null;
  if (old) old.close();
  if (state.session) leave(state.session);
  state.session = null;
  const mic = await microphone();
  const pc = new RTCPeerConnection({ iceServers: data.ice_servers, bundlePolicy: "max-bundle" });
  state.pc = pc;
  // One receive pair per studio in the booking's order, then the program's; the microphone.
  for (let i = 0; i < data.studios.length + 1; i++) {
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
  }
  if (mic) pc.addTransceiver(mic, { direction: "sendonly" });
  setLink("connecting", text.textConnecting);
  pc.addEventListener("connectionstatechange", () => {
    if (state.pc !== pc) return;
    if (pc.connectionState === "connected") setLink("good", text.textLive);
    if (["failed", "closed"].includes(pc.connectionState)) {
      setLink("lost", text.textLost);
      scheduleRetry(RETRY_MS);
    } else if (pc.connectionState === "disconnected") {
      // ICE often recovers from a short drop by itself; give it a moment, then start afresh.
      setLink("lost", text.textLost);
      setTimeout(() => {
        if (state.pc === pc && pc.connectionState !== "connected") scheduleRetry(0);
      }, DISCONNECTED_GRACE_MS);
    }
  });
  setTimeout(() => {
    if (state.pc === pc && pc.connectionState !== "connected") scheduleRetry(0);
  }, CONNECT_TIMEOUT_MS);
  await pc.setLocalDescription(await pc.createOffer());
  await waitForIce(pc);
  if (state.pc !== pc) return;
  let answer;
  try {
    answer = await api(data.session_url, "POST", { sdp: pc.localDescription.sdp });
  } catch (err) {
    if (state.pc !== pc) return;
    pc.close();
    state.pc = null;
    const closed = err.status === 409;
    setLink(closed ? "idle" : "lost", closed ? text.textClosed : err.message);
    scheduleRetry(closed ? CLOSED_RETRY_MS : RETRY_MS);
    return;
  }
  if (state.pc !== pc) {
    leave(answer.session);
    return;
  }
  state.session = answer.session;
  const closedNote = document.getElementById("control-closed");
  if (closedNote) closedNote.hidden = true;
  await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
  const byMid = new Map(pc.getTransceivers().map((t) => [t.mid, t]));
  const show = (el, videoMid, audioMid) => {
    const tracks = [videoMid, audioMid].map((m) => byMid.get(m)).filter(Boolean);
    const video = el.querySelector("video");
    video.srcObject = new MediaStream(tracks.map((t) => t.receiver.track));
    video.play().catch(() => {});
  };
  for (const slot of answer.slots) {
    const tile = tiles.get(slot.studio);
    if (tile) show(tile, slot.video_mid, slot.audio_mid);
  }
  if (answer.program) show(programTile, answer.program.video_mid, answer.program.audio_mid);
  ptt.disabled = !mic;
}

function leave(session) {
  fetch(`${data.session_url}/${session}`, {
    method: "DELETE",
    headers: { "X-CSRF-Token": csrf },
    keepalive: true,
  }).catch(() => {});
}

window.addEventListener("pagehide", () => {
  if (state.session) leave(state.session);
});

// --- switching -----------------------------------------------------------------------------

async function solo(studio) {
  try {
    await api(`/api/bookings/${data.booking}/program`, "POST", { layout: "solo", studio });
  } catch (err) {
    talkStatus.textContent = err.message;
  }
}

for (const [id, tile] of tiles) {
  tile.addEventListener("click", () => solo(id));
  tile.addEventListener("keydown", (e) => {
    if (e.key === "Enter") solo(id);
  });
}

// Keys go to a field being typed in (the chat, a free cue, a lower third), not to the desk; a
// ticked checkbox or a pressed button keeps the keys for switching and talkback.
const NOT_TYPING = new Set(["checkbox", "radio", "button", "submit", "reset", "range", "color"]);
function typing(target) {
  const field = target.closest("input, textarea, select, [contenteditable]");
  return field !== null && !(field.tagName === "INPUT" && NOT_TYPING.has(field.type));
}

document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
  const studio = data.studios.find((s) => s.key === e.key);
  if (studio) {
    e.preventDefault();
    solo(studio.id);
  } else if (e.code === "Space") {
    e.preventDefault(); // no scrolling, no button click
    if (!e.repeat) startTalking();
  }
});
document.addEventListener("keyup", (e) => {
  if (e.code === "Space" && state.talking) {
    e.preventDefault();
    stopTalking();
  }
});

// --- talkback ------------------------------------------------------------------------------

const targets = [...document.querySelectorAll("[data-talk-to]")];
document.getElementById("talk-all").addEventListener("click", () => {
  const all = !targets.every((t) => t.checked);
  for (const t of targets) t.checked = all;
});

function chosen() {
  return targets.filter((t) => t.checked).map((t) => t.value);
}

// True when the server took it, false when it may be sent again (no answer in time, the
// network, a server error); a refusal (4xx) is said and not repeated.
async function sendTalk(studios) {
  if (!state.session) return true;
  try {
    await api(data.talkback_url, "POST", { session: state.session, studios });
    return true;
  } catch (err) {
    talkStatus.textContent = err.message;
    return err.status !== undefined && err.status < 500;
  }
}

async function startTalking() {
  if (ptt.disabled || state.talking) return;
  const studios = chosen();
  if (!studios.length) {
    talkStatus.textContent = text.textChoose;
    return;
  }
  state.talking = true;
  state.mic.enabled = true;
  ptt.setAttribute("aria-pressed", "true");
  const names = data.studios.filter((s) => studios.includes(s.id)).map((s) => s.name);
  const talking = text.textTalking.replace("%(studios)s", names.join(", "));
  talkStatus.textContent = talking;
  // Held, the key keeps asking until the server takes it: a busy server that answered late
  // (or a dropped request) must not leave the producer talking to nobody.
  while (state.talking && !(await sendTalk(studios))) {
    await new Promise((resolve) => setTimeout(resolve, TALK_RETRY_MS));
    if (state.talking) talkStatus.textContent = talking;
  }
  if (!state.talking) stopSending(); // let go before the request was answered
  else if (talkStatus.textContent === text.textNoAnswer) talkStatus.textContent = talking;
}

// Until the server takes the stop (or the key is held again): otherwise the studios' consoles
// would go on saying the producer talks, over a return still lowered for it.
async function stopSending() {
  while (!state.talking && !(await sendTalk([]))) {
    await new Promise((resolve) => setTimeout(resolve, TALK_RETRY_MS));
  }
  // Taken at last: what the line said of the lost tries is no longer true.
  if (!state.talking && talkStatus.textContent === text.textNoAnswer) talkStatus.textContent = "";
}

function stopTalking() {
  if (!state.talking) return;
  state.talking = false;
  state.mic.enabled = false;
  ptt.setAttribute("aria-pressed", "false");
  talkStatus.textContent = "";
  stopSending();
}

ptt.addEventListener("pointerdown", (e) => {
  e.preventDefault();
  ptt.setPointerCapture(e.pointerId);
  startTalking();
});
for (const ev of ["pointerup", "pointercancel", "lostpointercapture"]) {
  ptt.addEventListener(ev, stopTalking);
}
window.addEventListener("blur", stopTalking); // a held key whose keyup goes elsewhere

// --- what the tiles show -------------------------------------------------------------------

const listen = document.getElementById("mv-listen");
listen.addEventListener("click", () => {
  const video = programTile.querySelector("video");
  video.muted = !video.muted;
  listen.setAttribute("aria-pressed", String(!video.muted));
});

function linkOf(s) {
  if (!s.connected) return "offline";
  if (s.feed_lost) return "lost";
  if ((s.loss_pct || 0) > 5 || (s.rtt_ms || 0) > 400) return "poor";
  if ((s.loss_pct || 0) > 1 || (s.rtt_ms || 0) > 150) return "fair";
  return "good";
}

function showState(doc) {
  const program = doc.program;
  if (program) {
    const layoutButton = document.querySelector(`[data-layout="${program.layout}"]`);
    const studio = data.studios.find((s) => s.id === program.studio);
    document.getElementById("mv-layout").textContent =
      (layoutButton ? layoutButton.textContent : program.layout) + (studio ? ` · ${studio.name}` : "");
    document.getElementById("mv-rec").hidden = !program.recording;
  }
  programTile.dataset.status = state.session ? "live" : "waiting";
  for (const s of doc.studios) {
    const tile = tiles.get(s.id);
    if (!tile) continue;
    // ON AIR only for a studio that is there: a slate in the program is no studio on air.
    tile.dataset.onProgram = String(s.on_program && s.connected);
    tile.dataset.status = !s.connected ? "waiting" : s.feed_lost ? "lost" : "live";
    const link = tile.querySelector(".mv-link");
    link.dataset.link = linkOf(s);
    link.querySelector(".mv-link-text").textContent =
      s.connected && s.rtt_ms != null ? `${Math.round(s.rtt_ms)} ms` : "";
    const level = s.level_dbfs == null ? METER_FLOOR : Math.max(METER_FLOOR, s.level_dbfs);
    const meter = tile.querySelector(".mv-meter");
    meter.setAttribute("aria-valuenow", String(Math.round(level)));
    meter.setAttribute("aria-valuetext", level <= METER_FLOOR ? `< ${METER_FLOOR} dBFS` : `${Math.round(level)} dBFS`);
    meter.querySelector(".mv-meter-fill").style.width = `${((level - METER_FLOOR) / -METER_FLOOR) * 100}%`;
    const talk = tile.querySelector(".mv-talk");
    talk.hidden = !s.talkback.length;
    talk.title = s.talkback.join(", ");
  }
  const others = doc.producers;
  document.getElementById("control-producers").textContent = others.length
    ? text.textProducers.replace("%(names)s", others.join(", "))
    : "";
}

async function poll() {
  try {
    showState(await api(data.state_url, "GET"));
  } catch (err) {
    for (const tile of tiles.values()) tile.dataset.status = "waiting";
  }
  setTimeout(poll, document.hidden ? RETRY_MS : POLL_MS);
}

function tickClocks() {
  for (const el of document.querySelectorAll(".tile-time[data-zone]")) {
    el.textContent = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hour12: false,
      timeZone: el.dataset.zone,
    }).format(new Date());
  }
}

tickClocks();
setInterval(tickClocks, 1000);
poll();
connect();
