// The studio console: camera and microphone, one send-receive connection to the bridge,
// each partner's picture and sound, tally and countdown, link quality, and reconnection.
import { mediaErrorText } from "./console_media_errors.js";
import { waitForIceGathering } from "./console_ice.js";
import { pollStats } from "./console_stats.js";
import { Tally } from "./console_tally.js";

const data = JSON.parse(document.getElementById("console-data").textContent);
const root = document.getElementById("console");
const preview = document.getElementById("preview");
const meter = document.getElementById("meter");
const micMeter = document.getElementById("mic-meter"); // the bar's value as text (and on screen)
const micLevel = document.getElementById("mic-level");
const cameraSelect = document.getElementById("camera");
const micSelect = document.getElementById("microphone");
const joinButton = document.getElementById("join");
const leaveButton = document.getElementById("leave");
const quality = document.getElementById("quality");
const qualityText = document.getElementById("quality-text");
const sending = document.getElementById("sending");
const errorBox = document.getElementById("console-error");
const programTile = document.getElementById("program-tile"); // absent: the room has no program
const partnersGrid = document.getElementById("partners");
const partnerTemplate = document.getElementById("partner-tile");

// Remembered for this tab, so that a reload brings the studio straight back into the bridge.
const JOINED_KEY = `telebridge:joined:${data.booking}:${data.studio}`;
const RECONNECT_DELAY_MS = 1000;
const DISCONNECTED_GRACE_MS = 2000;
const CONNECT_TIMEOUT_MS = 8000;
// Each attempt that did not come up waits longer (up to this) before the next replaces it: on a
// slow link or a busy server a fixed limit would replace every attempt before it connects.
const CONNECT_TIMEOUT_MAX_MS = 30000;
const STUDIO_REMOVED = "studio_removed"; // the error code once the booking has dropped this studio
const STUDIO_DECLINED = "studio_declined"; // this studio declined the booking: it does not join
const LINK_CLOSED = "link_closed"; // the error code once the link's window has closed

const state = {
  stream: null,
  pc: null,
  session: null,
  wantJoined: false,
  reconnectTimer: null,
  stats: { partners: {}, program: null, outbound: null, link: "idle" },
  lastInbound: {},
  // What the operator hears: the program's mix-minus (the producer's mix, never their own
  // voice) or every partner directly (less delay, e.g. for a line check).
  listen: "program",
  // Whether the operator shows the program (console_program.js): put away, the bridge sends
  // no return feed and the operator hears the partners directly.
  programShown: true,
  reopenedRejoins: 0, // offers made because the room no longer had this console's connection
  failedAttempts: 0, // connections in a row that did not come up
  reconnecting: false, // an offer is under way after the connection was lost
};
window.telebridge = state; // for master control tooling and the browser tests

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

function setQuality(level) {
  state.stats.link = level;
  quality.dataset.quality = level;
  qualityText.textContent = qualityText.dataset[`text${level[0].toUpperCase()}${level.slice(1)}`];
}

// --- camera, microphone, level meter ---------------------------------------------------

async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const [select, kind] of [[cameraSelect, "videoinput"], [micSelect, "audioinput"]]) {
    const current = select.value;
    select.replaceChildren(
      ...devices
        .filter((d) => d.kind === kind)
        .map((d, i) => new Option(d.label || `${kind} ${i + 1}`, d.deviceId)),
    );
    if (current) select.value = current;
  }
}

async function openDevices() {
  const q = data.quality;
  const constraints = {
    video: {
      width: { ideal: q.width },
      height: { ideal: q.height },
      frameRate: { ideal: q.fps },
      ...(cameraSelect.value ? { deviceId: { exact: cameraSelect.value } } : {}),
    },
    audio: {
      echoCancellation: true,
      noiseSuppression: false,
      autoGainControl: false,
      ...(micSelect.value ? { deviceId: { exact: micSelect.value } } : {}),
    },
  };
  const stream = await navigator.mediaDevices.getUserMedia(constraints);
  const [video] = stream.getVideoTracks();
  if (video) video.contentHint = "detail"; // keep the resolution; broadcast wants sharpness
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  state.stream = stream;
  preview.srcObject = stream;
  document.dispatchEvent(new CustomEvent("telebridge:stream")); // the cough key applies to it
  startMeter(stream);
  if (state.pc) {
    // Switch devices live without renegotiating.
    for (const sender of state.pc.getSenders()) {
      const track = stream.getTracks().find((t) => sender.track && t.kind === sender.track.kind);
      if (track) await sender.replaceTrack(track);
    }
  }
}

// The microphone's level as text, for assistive technology and on screen beside the bar.
const METER_FLOOR = -60;
let micLevelShownAt = 0;
function showMicLevel(dbfs) {
  const shown = Math.max(METER_FLOOR, Math.min(0, Math.round(dbfs)));
  const text = dbfs <= METER_FLOOR ? `< ${METER_FLOOR} dBFS` : `${shown} dBFS`;
  micMeter.setAttribute("aria-valuenow", String(shown));
  micMeter.setAttribute("aria-valuetext", text);
  if (micLevel.textContent !== text) micLevel.textContent = text;
}

let meterContext = null;
function startMeter(stream) {
  if (!stream.getAudioTracks().length) return;
  if (meterContext) meterContext.close();
  const context = (meterContext = new AudioContext());
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  context.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const draw = () => {
    if (context.state === "closed") return; // replaced (a device change) or the show ended
    analyser.getFloatTimeDomainData(samples);
    let peak = 0;
    for (const s of samples) peak = Math.max(peak, Math.abs(s));
    const dbfs = 20 * Math.log10(peak || 1e-6);
    const pct = Math.max(0, Math.min(100, ((dbfs + 60) / 60) * 100));
    meter.style.width = `${pct}%`;
    meter.dataset.level = dbfs > -6 ? "hot" : dbfs > -20 ? "ok" : "low";
    const now = performance.now();
    if (now - micLevelShownAt >= 100 || now < micLevelShownAt) {
      micLevelShownAt = now; // the text ten times a second: readable, and no flood of changes
      showMicLevel(dbfs);
    }
    requestAnimationFrame(draw);
  };
  draw();
}

// --- the connection --------------------------------------------------------------------

async function connect() {
  clearTimeout(state.reconnectTimer);
  if (!state.stream) await openDevices();
  const pc = new RTCPeerConnection({
    iceServers: data.ice_servers,
    iceTransportPolicy: data.ice_transport_policy || "all", // "relay": ?relay=1 on the join link
    bundlePolicy: "max-bundle",
  });
  const q = data.quality;
  const [video] = state.stream.getVideoTracks();
  const [audio] = state.stream.getAudioTracks();
  if (video) {
    const t = pc.addTransceiver(video, {
      direction: "sendonly",
      streams: [state.stream],
      sendEncodings: [{ maxBitrate: q.max_kbps * 1000, maxFramerate: q.fps }],
    });
    const params = t.sender.getParameters();
    params.degradationPreference = "maintain-resolution";
    t.sender.setParameters(params).catch(() => {});
  }
  if (audio) pc.addTransceiver(audio, { direction: "sendonly", streams: [state.stream] });
  // One receive pair per partner, then one for the program's return feed.
  for (let i = 0; i < data.partners.length + (programTile ? 1 : 0); i++) {
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
  }
  state.pc = pc;
  setQuality("connecting");
  pc.addEventListener("connectionstatechange", () => {
    if (state.pc !== pc) return;
    if (pc.connectionState === "connected") {
      state.failedAttempts = 0;
      setQuality("good");
    }
    if (!state.wantJoined) return;
    if (["failed", "closed"].includes(pc.connectionState)) {
      setQuality("lost");
      scheduleReconnect();
    } else if (pc.connectionState === "disconnected") {
      // ICE often recovers from a short drop by itself; give it a moment, then start afresh.
      setQuality("lost");
      setTimeout(() => {
        if (state.pc === pc && pc.connectionState !== "connected") scheduleReconnect();
      }, DISCONNECTED_GRACE_MS);
    }
  });
  // A connection that never comes up (the network is still down) is replaced, again and again.
  const connectTimeout = Math.min(
    CONNECT_TIMEOUT_MS * (1 + state.failedAttempts / 2),
    CONNECT_TIMEOUT_MAX_MS,
  );
  setTimeout(() => {
    if (state.pc === pc && state.wantJoined && pc.connectionState !== "connected") {
      state.failedAttempts += 1;
      scheduleReconnect();
    }
  }, connectTimeout);
  const gathered = waitForIceGathering(pc, data.ice_servers, state);
  await pc.setLocalDescription(await pc.createOffer());
  await gathered;
  if (state.pc !== pc) return; // replaced meanwhile (a reconnect, Leave, or removed)
  let response;
  try {
    response = await fetch(data.session_url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sdp: pc.localDescription.sdp, program: state.programShown }),
    });
  } catch (err) {
    pc.close();
    setQuality("lost");
    scheduleReconnect();
    return;
  }
  const body = await response.json().catch(() => ({}));
  if (state.pc !== pc) {
    pc.close();
    return;
  }
  if (!response.ok) {
    pc.close();
    state.pc = null;
    if (isRemoved(response, body)) {
      removed(body);
      return;
    }
    if (isClosed(response, body)) {
      ended(body.error.message);
      return;
    }
    showError(body.error ? body.error.message : `HTTP ${response.status}`);
    if (response.status >= 500 || response.status === 409) scheduleReconnect();
    else stopWanting();
    return;
  }
  showError("");
  state.session = body.session;
  await pc.setRemoteDescription({ type: "answer", sdp: body.sdp });
  const byMid = new Map(pc.getTransceivers().map((t) => [t.mid, t]));
  for (const slot of body.slots) {
    const tile = document.querySelector(`.tile[data-partner="${slot.studio}"]`);
    if (!tile) continue;
    const tracks = [slot.video_mid, slot.audio_mid]
      .map((mid) => byMid.get(mid))
      .filter(Boolean)
      .map((t) => t.receiver.track);
    const videoEl = tile.querySelector("video");
    videoEl.srcObject = new MediaStream(tracks);
    videoEl.play().catch(() => {});
    tile.dataset.videoMid = slot.video_mid || "";
    tile.dataset.audioMid = slot.audio_mid || "";
  }
  if (programTile && body.program) {
    const tracks = [body.program.video_mid, body.program.audio_mid]
      .map((mid) => byMid.get(mid))
      .filter(Boolean)
      .map((t) => t.receiver.track);
    const videoEl = programTile.querySelector("video");
    videoEl.srcObject = new MediaStream(tracks);
    videoEl.play().catch(() => {});
    programTile.dataset.videoMid = body.program.video_mid || "";
    programTile.dataset.audioMid = body.program.audio_mid || "";
    // The program comes back as H.264: a browser that did not offer it hears it only.
    programTile.querySelector(".tile-unplayable").hidden = !!body.program.video_mid;
  }
  applyListen();
  root.dataset.state = "joined";
}

function applyListen() {
  const program =
    state.listen === "program" && state.programShown && programTile && programTile.dataset.audioMid;
  if (programTile) programTile.querySelector("video").muted = !program;
  for (const el of document.querySelectorAll(".tile[data-partner] video")) el.muted = !!program;
  const heard = program ? "program" : "partners";
  for (const b of document.querySelectorAll("[data-listen]")) {
    b.setAttribute("aria-pressed", String(b.dataset.listen === heard));
    if (b.dataset.listen === "program") b.disabled = !state.programShown;
  }
}

function scheduleReconnect(delay = RECONNECT_DELAY_MS) {
  clearTimeout(state.reconnectTimer);
  if (!state.wantJoined) return;
  state.reconnectTimer = setTimeout(async () => {
    if (!state.wantJoined) return;
    const old = state.pc;
    state.pc = null;
    if (old) old.close();
    state.reconnecting = true; // a state poll must not restart this attempt
    try {
      await connect();
    } catch (err) {
      scheduleReconnect();
    } finally {
      state.reconnecting = false;
    }
  }, delay);
}

function stopWanting() {
  state.wantJoined = false;
  sessionStorage.removeItem(JOINED_KEY);
  joinButton.disabled = false;
  leaveButton.disabled = true;
  root.dataset.state = "idle";
}

async function join() {
  if (state.wantJoined) return; // already joined or joining (a click during start-up)
  if (state.replaced) showError(""); // taking the studio back from the other console
  state.replaced = false;
  state.wantJoined = true;
  sessionStorage.setItem(JOINED_KEY, "1");
  joinButton.disabled = true;
  leaveButton.disabled = false;
  try {
    await connect();
  } catch (err) {
    showError(String(err));
    scheduleReconnect();
  }
}

async function leave() {
  const { pc, session } = state;
  stopWanting();
  state.pc = null;
  if (pc) pc.close();
  clearConnectionView();
  if (session) {
    fetch(data.leave_url.replace("{session}", session), { method: "DELETE" }).catch(() => {});
  }
  setQuality("idle");
}

// --- the booking's studios change --------------------------------------------------------

function isRemoved(response, body) {
  const code = response.status === 403 && !!body.error ? body.error.code : "";
  return code === STUDIO_REMOVED || code === STUDIO_DECLINED;
}

// The producer took this studio out of the booking, or the studio declined it: the bridge has
// closed its connection and refuses every new one. Stop for good and say why, rather than
// reconnecting forever.
function removed(body) {
  shutDown();
  state.removed = true; // for the browser tests
  root.dataset.state = "removed";
  tally.leave();
  tally.show(Date.now(), false);
  if (body.error.code === STUDIO_DECLINED) {
    const reason = body.error.reason; // in its operator's words
    showError(errorBox.dataset.textDeclined + (reason ? `: ${reason}` : ""));
  } else {
    showError(errorBox.dataset.textRemoved);
  }
}

function isClosed(response, body) {
  return response.status === 403 && !!body.error && body.error.code === LINK_CLOSED;
}

// Out of the bridge: no partner's last picture, no figures of a connection that is gone (the
// studio's own preview stays: it is the camera, not the bridge).
function clearConnectionView() {
  for (const video of document.querySelectorAll("#console .tile video")) video.srcObject = null;
  for (const tile of document.querySelectorAll(".tile")) {
    tile.dataset.status = "waiting";
    const status = tile.querySelector(".tile-status");
    if (status) status.textContent = status.dataset.textWaiting;
    const figures = tile.querySelector(".tile-stats");
    if (figures) figures.textContent = "";
  }
  state.stats.partners = {};
  state.stats.program = null;
  state.stats.outbound = null;
  sending.textContent = "";
}

// The join link's window has closed (the show is over and so is its teardown): the bridge has
// closed the room. Let go of the connection, the pictures and the camera, stop asking, and
// say so, rather than keep stale pictures under "Link good".
// This console is done for good (the link closed, or the studio is out of the show): no
// connection, no camera, no stale pictures or figures, and no control that still seems to work.
function shutDown() {
  const pc = state.pc;
  stopWanting();
  clearTimeout(state.reconnectTimer);
  state.pc = null;
  if (pc) pc.close();
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  for (const video of document.querySelectorAll("#console video")) video.srcObject = null;
  clearConnectionView();
  // Nothing on this page works any more (calls, chat, devices): every control says so.
  for (const el of root.querySelectorAll("button, select, textarea, input")) el.disabled = true;
  if (meterContext) meterContext.close().catch(() => {});
  meter.style.width = "0%";
  showMicLevel(-Infinity);
  setQuality("idle");
  sending.textContent = "";
}

function ended(reason) {
  if (state.ended) return;
  // Closed before its time (the booking was cancelled meanwhile): the bridge's reason.
  const early = reason && Date.now() < tally.closesAt;
  shutDown();
  state.ended = true; // for the browser tests
  root.dataset.state = "ended";
  tally.show(Math.max(Date.now(), tally.closesAt), false);
  if (early) {
    showError(reason);
    return;
  }
  errorBox.classList.replace("alert-error", "alert-info");
  showError(errorBox.dataset.textEnded.replace("%(time)s", errorBox.dataset.closesAt));
}

// The partners the bridge has now (the tally names them). A removed one's tile and clock go:
// the bridge no longer relays it. An added one gets a tile, and the console offers again,
// because a connection has one receive pair per partner it had when it offered.
function followPartners(partners) {
  const now = new Set(partners.map((p) => p.id));
  const shown = new Set(data.partners.map((p) => p.id));
  if (now.size === shown.size && [...now].every((id) => shown.has(id))) return;
  for (const id of shown) {
    if (now.has(id)) continue;
    const quoted = CSS.escape(id);
    document
      .querySelectorAll(`.tile[data-partner="${quoted}"], [data-partner-clock="${quoted}"]`)
      .forEach((el) => el.remove());
    delete state.stats.partners[id];
    delete state.lastInbound[id];
  }
  const added = partners.filter((p) => !shown.has(p.id));
  for (const p of added) {
    const tile = partnerTemplate.content.firstElementChild.cloneNode(true);
    tile.dataset.partner = p.id;
    tile.querySelector("strong").textContent = p.name;
    partnersGrid.append(tile);
  }
  // Known partners keep what the page knew of them (city, time zone).
  data.partners = partners.map((p) => data.partners.find((q) => q.id === p.id) || p);
  partnersGrid.dataset.count = String(data.partners.length);
  if (added.length) scheduleReconnect();
}

// --- tally ---------------------------------------------------------------------------

const tally = new Tally(data);
state.tally = tally; // for the browser tests

function connected() {
  return !!state.pc && state.pc.connectionState === "connected";
}

function replaced() {
  const pc = state.pc;
  stopWanting();
  state.pc = null;
  if (pc) pc.close();
  state.replaced = true; // for the browser tests
  clearConnectionView();
  setQuality("idle");
  showError(errorBox.dataset.textReplaced);
}

async function pollTally() {
  if (!state.wantJoined) return;
  const session = state.session; // the connection this poll asks about
  const asked = session ? `&session=${encodeURIComponent(session)}` : "";
  const response = await fetch(data.state_url + asked);
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    if (isRemoved(response, body)) removed(body);
    else if (isClosed(response, body)) ended(body.error.message);
    return;
  }
  const body = await response.json();
  if (!state.wantJoined) return; // left (or removed) while the poll was under way
  if (body.session_in_room === false && session && state.session === session) {
    state.session = null;
    if (body.replaced) {
      // Another console joined as this studio: the two must not take the studio from each
      // other in turn. This one steps back and says so; Join takes the studio back.
      replaced();
      return;
    }
    // The room no longer has this connection: it was reopened (on another node after a
    // failure, or after a restart). Offer again now, not when ICE gives up seconds later.
    if (!state.reconnecting) {
      state.reopenedRejoins += 1; // for the browser tests
      setQuality("lost");
      scheduleReconnect(0);
    }
  }
  if (body.partners) followPartners(body.partners);
  tally.update(body);
  // Fresh TURN credentials (they expire when the link closes, which an extension moves):
  // the next reconnect uses them.
  if (body.ice_servers) data.ice_servers = body.ice_servers;
  // The producer's cue and the chat (console_cues.js) read the same answer.
  document.dispatchEvent(new CustomEvent("telebridge:state", { detail: body }));
}

function tick() {
  if (state.ended) return;
  if (tally.show(Date.now(), connected())) ended();
}

// --- start -----------------------------------------------------------------------------

joinButton.addEventListener("click", join);
for (const b of document.querySelectorAll("[data-listen]")) {
  b.addEventListener("click", () => {
    state.listen = b.dataset.listen;
    applyListen();
  });
}
document.addEventListener("telebridge:program-shown", (event) => {
  state.programShown = event.detail;
  applyListen();
});
leaveButton.addEventListener("click", leave);
cameraSelect.addEventListener("change", () => openDevices().catch((e) => showError(String(e))));
micSelect.addEventListener("change", () => openDevices().catch((e) => showError(String(e))));
setInterval(tick, 250);
setInterval(() => pollStats(state, data, tally, setQuality).catch(() => {}), 1000);
setInterval(() => pollTally().catch(() => {}), 1000);
tick();

(async () => {
  try {
    await openDevices();
    await listDevices();
  } catch (err) {
    showError(mediaErrorText(err));
  }
  if (sessionStorage.getItem(JOINED_KEY) === "1") join();
})();
