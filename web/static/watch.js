// The broadcast player of /watch and /embed: waits for the start, plays the live program over
// HLS (hls.js where the browser has Media Source Extensions, else the browser's own HLS),
// retries an interrupted stream, and plays the recording after the end without a reload.
// The page's data attributes hold the first status and the translated texts;
// /watch/{booking}/status.json is polled for the rest.

const root = document.getElementById("watch");
const stage = root.querySelector(".watch-stage");
const video = document.getElementById("watch-video");
const messageBox = document.getElementById("watch-message");
const messageTitle = document.getElementById("watch-message-title");
const messageDetail = document.getElementById("watch-message-detail");
const liveBadge = document.getElementById("watch-live");
const replayBadge = document.getElementById("watch-replay");
const unmute = document.getElementById("watch-unmute");
const clockText = document.getElementById("watch-clock-text");
const elapsed = document.getElementById("watch-elapsed");
const data = root.dataset;
const recorded = data.recorded === "yes"; // the booking records its program: wait for it

const HLS_TYPE = "application/vnd.apple.mpegurl";
const FETCH_TIMEOUT_MS = 8000;
const RETRY_MAX_MS = 15000;
const STALL_MS = 4000; // the picture stood still this long: say so
const ENDED_POLLS = 720; // after the end, wait up to an hour (5 s apart) for the recording

const view = {
  state: data.state,
  hlsUrl: data.hlsUrl || null,
  recordingUrl: data.recordingUrl || null,
  startsAt: new Date(data.startsAt),
  endsAt: new Date(data.endsAt),
  liveSince: new Date(data.liveSince),
  source: null, // "hls.js" | "native" | "recording" while something plays
  url: null,
  hls: null,
  error: null, // what the viewer is told went wrong, in words
  retries: 0,
  stallTimer: null,
  retryTimer: null,
  endedPolls: 0,
};

// For tests and the curious: what the player is doing now.
window.telebridgeWatch = {
  get state() { return view.state; },
  get source() { return view.source; },
  get error() { return view.error; },
  get playing() { return !video.paused && !video.ended && video.readyState >= 3; },
  get currentTime() { return video.currentTime; },
  get muted() { return video.muted; },
  get audioBytes() { return video.webkitAudioDecodedByteCount || 0; },
  get videoSize() { return [video.videoWidth, video.videoHeight]; },
};

function text(key, values = {}) {
  return (data[key] || "").replace(/%\((\w+)\)s/g, (_, name) => values[name] ?? "");
}

const language = data.lang || document.documentElement.lang || undefined;
// In the viewer's own zone; 24-hour, as broadcast people read the time.
const timeFormat = new Intl.DateTimeFormat(language, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const dateTimeFormat = new Intl.DateTimeFormat(language, {
  weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
});
const sameDay = (a, b) => a.toDateString() === b.toDateString();

function hms(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const pad = (n) => String(n).padStart(2, "0");
  const days = Math.floor(s / 86400);
  const clock = `${pad(Math.floor((s % 86400) / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
  return days ? `${days}d ${clock}` : clock;
}

function say(title, detail = "", busy = false) {
  messageTitle.textContent = title;
  messageDetail.textContent = detail;
  stage.dataset.busy = busy ? "1" : "0";
  messageBox.hidden = false;
}

function quiet() {
  messageBox.hidden = true;
  stage.dataset.busy = "0";
  view.error = null;
}

// The clock under the picture, every second.
function tick() {
  const now = new Date();
  if (view.state === "live") {
    clockText.textContent = text("textLiveSince", { time: timeFormat.format(view.liveSince) });
    elapsed.textContent = hms(now - view.liveSince);
  } else if (view.state === "scheduled") {
    const starts = sameDay(now, view.startsAt) ? timeFormat : dateTimeFormat;
    const startsText = text("textStarts", { time: starts.format(view.startsAt) });
    clockText.textContent = ""; // the picture says when; here the countdown
    elapsed.textContent = view.startsAt > now ? text("textCountdown", { left: hms(view.startsAt - now) }) : "";
    if (!view.source && !view.error) {
      if (view.startsAt > now) say(text("textNotStarted"), startsText);
      else say(text("textSoon"), "", true);
    }
  } else {
    clockText.textContent = text("textBroadcastAt", { time: dateTimeFormat.format(view.startsAt) });
    elapsed.textContent = "";
  }
}

// What plays

function stop() {
  clearTimeout(view.retryTimer);
  clearTimeout(view.stallTimer);
  if (view.hls) {
    view.hls.destroy();
    view.hls = null;
  }
  if (view.source) {
    video.removeAttribute("src");
    video.load();
  }
  view.source = null;
  view.url = null;
  video.controls = false;
  document.body.dataset.playing = "0";
}

function start() {
  // Muted, so that the browser lets it start by itself; the viewer unmutes with one click.
  const played = video.play();
  if (played) {
    played.catch(() => {
      video.controls = true; // autoplay refused even muted: the viewer presses play
    });
  }
}

function interrupted() {
  view.error = "interrupted";
  say(text("textInterrupted"), "", true);
}

function retryLater(again) {
  clearTimeout(view.retryTimer);
  const delay = Math.min(1000 * 2 ** view.retries, RETRY_MAX_MS);
  view.retries += 1;
  view.retryTimer = setTimeout(again, delay);
}

function playLive(url) {
  if (view.url === url && view.source !== "recording") return;
  stop();
  view.url = url;
  const Hls = window.Hls;
  if (Hls && Hls.isSupported()) {
    const hls = new Hls({ enableWorker: false, liveSyncDuration: 3, lowLatencyMode: false });
    hls.on(Hls.Events.MANIFEST_PARSED, () => start());
    hls.on(Hls.Events.ERROR, (_event, error) => {
      if (!error.fatal) return; // hls.js mends these itself (a late segment, a gap)
      interrupted();
      if (error.type === Hls.ErrorTypes.MEDIA_ERROR) {
        hls.recoverMediaError();
        return;
      }
      if (error.type === Hls.ErrorTypes.NETWORK_ERROR) {
        // The playlist may be gone because the show ended: the next status says so.
        retryLater(() => { if (view.hls === hls) hls.startLoad(); });
        poll();
        return;
      }
      retryLater(() => { view.url = null; if (view.state === "live") playLive(url); });
    });
    hls.loadSource(url);
    hls.attachMedia(video);
    view.hls = hls;
    view.source = "hls.js";
    say(text("textConnecting"), "", true);
  } else if (video.canPlayType(HLS_TYPE)) {
    video.src = url;
    view.source = "native";
    say(text("textConnecting"), "", true);
    start();
  } else {
    view.error = "unsupported";
    say(text("textUnsupported"));
  }
}

function playRecording(url) {
  if (view.url === url) return;
  stop();
  view.url = url;
  view.source = "recording";
  video.preload = "metadata";
  video.controls = true;
  video.src = url;
  quiet();
  start();
}

video.addEventListener("error", () => {
  if (view.source === "native") {
    interrupted();
    retryLater(() => { const url = view.url; view.url = null; if (url && view.state === "live") playLive(url); });
  }
});
video.addEventListener("playing", () => {
  clearTimeout(view.stallTimer);
  view.retries = 0;
  quiet();
  document.body.dataset.playing = "1";
  unmute.hidden = !video.muted;
});
video.addEventListener("waiting", () => {
  clearTimeout(view.stallTimer);
  if (view.source !== "recording") view.stallTimer = setTimeout(interrupted, STALL_MS);
});
// The stream ran out (its playlist was ended: the output stopped or the show is over).
video.addEventListener("ended", () => { if (view.source !== "recording") poll(); });
video.addEventListener("volumechange", () => { unmute.hidden = !video.muted || video.paused; });
unmute.addEventListener("click", () => {
  video.muted = false;
  video.volume = 1;
  unmute.hidden = true;
  video.play().catch(() => { video.controls = true; });
});

// The state, as the server last said

function render() {
  root.dataset.state = view.state;
  liveBadge.hidden = view.state !== "live";
  replayBadge.hidden = !(view.state === "ended" && view.recordingUrl);
  if (view.state === "live" && view.hlsUrl) {
    playLive(view.hlsUrl);
  } else if (view.state === "ended" && view.recordingUrl) {
    playRecording(view.recordingUrl);
  } else {
    stop();
    unmute.hidden = true;
    if (view.state === "ended") say(text("textEnded"), recorded ? text("textRecordingSoon") : "");
    else view.error = null;
  }
  tick();
}

function apply(status) {
  view.state = status.state;
  view.hlsUrl = status.hls_url;
  view.recordingUrl = status.recording_url;
  view.startsAt = new Date(status.starts_at);
  view.endsAt = new Date(status.ends_at);
  view.liveSince = new Date(status.live_since);
  document.getElementById("watch-title").textContent = status.title;
  const cities = document.getElementById("watch-cities"); // in the page's language (data-names)
  const names = JSON.parse(cities.dataset.names || "{}");
  cities.textContent = status.cities.map((c) => names[c] || c).join(" · ");
  render();
}

let pollTimer = null;
let failures = 0;

function nextPoll() {
  if (failures) return Math.min(5000 * 2 ** failures, 60000);
  if (view.state === "live") return 10000;
  if (view.state === "ended") return 5000;
  // Long before the start there is no hurry; near it, notice the stream within seconds.
  return view.startsAt - Date.now() > 15 * 60000 ? 60000 : 3000;
}

async function poll() {
  clearTimeout(pollTimer);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
  try {
    const response = await fetch(data.statusUrl, {
      headers: { Accept: "application/json" }, cache: "no-store", signal: abort.signal,
    });
    if (!response.ok) throw new Error(`status ${response.status}`);
    apply(await response.json());
    failures = 0;
  } catch {
    failures = Math.min(failures + 1, 4); // the stream plays on; the status is asked again later
  } finally {
    clearTimeout(timer);
  }
  if (view.state === "ended") {
    view.endedPolls += 1;
    // Nothing more will change: the recording is there, or none is coming.
    if (view.recordingUrl || !recorded || view.endedPolls > ENDED_POLLS) return;
  }
  pollTimer = setTimeout(poll, nextPoll());
}

render();
setInterval(tick, 1000);
pollTimer = setTimeout(poll, nextPoll());
