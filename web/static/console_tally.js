// The studio console's tally, countdown and city clocks. What the tally says must be true:
// ON AIR only while the show is on air, this console is connected and its studio is in the
// program's picture (as the bridge said within the last few seconds); NOT CONNECTED during the
// show otherwise; SHOW ENDED once the join link's window has closed; NOT IN THIS SHOW once the
// studio was taken out of the booking or declined it. The countdown says what it counts to.

const STALE_MS = 5000; // a tally the bridge has not confirmed for this long is not believed

const tallyBox = document.getElementById("tally");
const label = tallyBox.querySelector(".tally-label");
const countdown = document.getElementById("countdown");
const countdownLabel = document.getElementById("countdown-label");
const elapsed = document.getElementById("on-air-for");
const rec = document.getElementById("tally-rec");

const LABEL_KEYS = {
  standby: "labelStandby",
  onair: "labelOnair",
  ready: "labelReady",
  unjoined: "labelUnjoined",
  off: "labelOff",
  ended: "labelEnded",
  left: "labelLeft",
};

export function formatLeft(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

export class Tally {
  constructor(data) {
    // From the booking; the state poll moves them when the producer extends or shifts the show.
    this.onAir = Date.parse(data.on_air_at);
    this.offAir = Date.parse(data.off_air_at);
    this.closesAt = Date.parse(data.closes_at);
    this.onProgram = false; // what the bridge said last: is this studio in the picture
    this.recording = false;
    this.confirmedAt = 0; // when the bridge said it (Date.now())
    this.phase = "standby";
    this.left = false; // taken out of the booking, or declined it: nothing to count down to
  }

  // This studio is no longer in the show (for good: a new page load says so from the start).
  leave() {
    this.left = true;
  }

  // The bridge's answer to the console's state poll.
  update(body) {
    this.onProgram = !!body.on_program;
    this.recording = !!body.recording;
    this.confirmedAt = Date.now();
    if (body.on_air_at) this.onAir = Date.parse(body.on_air_at);
    if (body.off_air_at) this.offAir = Date.parse(body.off_air_at);
    if (body.closes_at) this.closesAt = Date.parse(body.closes_at);
  }

  // Where the show stands for the program's return feed: preview before air, on air, over.
  showPhase(now) {
    return now < this.onAir ? "preview" : now < this.offAir ? "live" : "ended";
  }

  phaseAt(now, connected) {
    if (this.left) return "left";
    if (now >= this.closesAt) return "ended";
    if (now < this.onAir) return "standby";
    if (now >= this.offAir) return "off";
    const believed = connected && now - this.confirmedAt < STALE_MS;
    if (!believed) return "unjoined";
    return this.onProgram ? "onair" : "ready";
  }

  // One look at the clock (four times a second); true once the link's window has closed.
  show(now, connected) {
    const phase = this.phaseAt(now, connected);
    this.phase = phase;
    tallyBox.dataset.tally = phase;
    document.body.classList.toggle("is-on-air", phase === "onair");
    label.textContent = label.dataset[LABEL_KEYS[phase]];
    rec.hidden = !(this.recording && connected && now - this.confirmedAt < STALE_MS);
    const [key, left] =
      phase === "standby"
        ? ["textToAir", this.onAir - now]
        : phase === "off"
          ? ["textCloses", this.closesAt - now]
          : phase === "ended" || phase === "left"
            ? [null, 0]
            : ["textToEnd", this.offAir - now];
    countdownLabel.textContent = key ? countdownLabel.dataset[key] : "";
    countdown.textContent = key ? formatLeft(left) : "";
    const onAirFor = !this.left && now >= this.onAir && now < this.offAir;
    elapsed.hidden = !onAirFor;
    if (onAirFor) elapsed.textContent = elapsed.dataset.text.replace("%(time)s", formatLeft(now - this.onAir));
    showClocks(now);
    return phase === "ended";
  }
}

// Each studio city's wall clock.
function showClocks(now) {
  for (const el of document.querySelectorAll("[data-zone]")) {
    const time = new Date(now).toLocaleTimeString([], {
      timeZone: el.dataset.zone,
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hour12: false,
    });
    const target = el.querySelector(".clock-time") || el;
    target.textContent = time;
  }
}
