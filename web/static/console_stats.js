// The console's statistics: each partner's and the program's picture as received (size, frame
// rate, bitrate, live or lost), what this studio sends, and the link's quality from loss and
// round trip. Read once a second from the connection's getStats().

import { formatBitrate } from "./numbers.js";

const LOST_AFTER_MS = 3000; // nothing received for this long: the signal is lost
const programTile = document.getElementById("program-tile"); // absent: the room has no program
const sending = document.getElementById("sending");

// Why the browser sends less than it could, in the page's language.
function limitText(reason) {
  return sending.dataset[reason === "cpu" ? "textCpu" : reason === "bandwidth" ? "textBandwidth" : "textOther"];
}

export async function pollStats(state, data, tally, setQuality) {
  const pc = state.pc;
  if (!pc) return;
  const report = await pc.getStats();
  if (state.pc !== pc) return; // left, replaced or ended meanwhile: these figures are stale
  const byMid = {};
  let remoteLoss = null;
  let rtt = null;
  for (const s of report.values()) {
    if (s.type === "inbound-rtp" && s.mid) byMid[s.mid] = s;
    if (s.type === "outbound-rtp" && s.kind === "video") {
      const sender = pc.getSenders().find((x) => x.track && x.track.kind === "video");
      // What goes out, from the bytes sent since the last look (the encoder's target is a
      // wish, and Chromium leaves it out at times).
      const before = state.stats.outbound;
      const sentKbps =
        before && before.bytesSent != null && s.timestamp > before.at
          ? Math.round(((s.bytesSent - before.bytesSent) * 8) / (s.timestamp - before.at))
          : null;
      state.stats.outbound = {
        bytesSent: s.bytesSent,
        at: s.timestamp,
        sentKbps,
        width: s.frameWidth,
        height: s.frameHeight,
        fps: s.framesPerSecond,
        targetBitrate: s.targetBitrate,
        // "cpu" or "bandwidth" when the encoder gives up frames; the resolution stays.
        limitedBy:
          s.qualityLimitationReason && s.qualityLimitationReason !== "none"
            ? s.qualityLimitationReason
            : null,
        degradation: sender ? sender.getParameters().degradationPreference || null : null,
      };
    }
    if (s.type === "remote-inbound-rtp" && s.kind === "video") {
      remoteLoss = s.fractionLost;
      rtt = s.roundTripTime;
    }
    if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime != null) {
      rtt = s.currentRoundTripTime;
    }
  }
  const now = Date.now();
  let anyLive = false;
  if (programTile) {
    const v = byMid[programTile.dataset.videoMid];
    const a = byMid[programTile.dataset.audioMid];
    const last = state.lastInbound.program || { bytes: 0, at: 0 };
    const bytes = (v ? v.bytesReceived : 0) + (a ? a.bytesReceived : 0);
    if (bytes > last.bytes) state.lastInbound.program = { bytes, at: now };
    const seen = (state.lastInbound.program || { at: 0 }).at;
    // Put away at this console (console_program.js): nothing comes, and that is no loss.
    const away = programTile.dataset.putAway === "true";
    const status = away ? "away" : now - seen < LOST_AFTER_MS ? "live" : seen ? "lost" : "waiting";
    // A picture arriving is "on air" only while the show is: before, a preview; after, over.
    const shown = status === "live" ? tally.showPhase(now) : status;
    programTile.dataset.status = shown;
    const label = programTile.querySelector(".tile-status");
    label.textContent = label.dataset[`text${shown[0].toUpperCase()}${shown.slice(1)}`];
    state.stats.program = {
      width: v ? v.frameWidth : undefined,
      height: v ? v.frameHeight : undefined,
      fps: v ? v.framesPerSecond : undefined,
      framesDecoded: v ? v.framesDecoded : 0,
      audioBytes: a ? a.bytesReceived : 0,
      codec: v && v.codecId && report.get(v.codecId) ? report.get(v.codecId).mimeType : undefined,
      status,
    };
    programTile.querySelector(".tile-stats").textContent =
      v && v.frameWidth ? `${v.frameWidth}×${v.frameHeight} · ${Math.round(v.framesPerSecond || 0)} fps` : "";
  }
  for (const tile of document.querySelectorAll(".tile[data-partner]")) {
    const v = byMid[tile.dataset.videoMid];
    const a = byMid[tile.dataset.audioMid];
    const id = tile.dataset.partner;
    const bytes = (v ? v.bytesReceived : 0) + (a ? a.bytesReceived : 0);
    // Kept from the first look: a partner that has sent nothing yet (one just added to the
    // booking) must not stop the tiles after it from being measured.
    const last = (state.lastInbound[id] ||= { bytes: 0, at: 0 });
    if (bytes > last.bytes) state.lastInbound[id] = { bytes, at: now };
    const fresh = now - state.lastInbound[id].at < LOST_AFTER_MS;
    // A partner whose picture this browser cannot receive (console_codecs.js) is heard only.
    const heard = fresh && tile.dataset.unplayable === "true" ? "soundOnly" : "live";
    const status = fresh ? heard : last.at ? "lost" : "waiting";
    anyLive ||= fresh;
    tile.dataset.status = status;
    const label = tile.querySelector(".tile-status");
    label.textContent = label.dataset[`text${status[0].toUpperCase()}${status.slice(1)}`];
    const kbps = v && last.prevVideoBytes != null
      ? Math.round(((v.bytesReceived - last.prevVideoBytes) * 8) / 1000)
      : null;
    state.lastInbound[id].prevVideoBytes = v ? v.bytesReceived : null;
    state.stats.partners[id] = {
      width: v ? v.frameWidth : undefined,
      height: v ? v.frameHeight : undefined,
      fps: v ? v.framesPerSecond : undefined,
      framesDecoded: v ? v.framesDecoded : 0,
      audioBytes: a ? a.bytesReceived : 0,
      kbps,
      status,
    };
    tile.querySelector(".tile-stats").textContent =
      v && v.frameWidth ? `${v.frameWidth}×${v.frameHeight} · ${Math.round(v.framesPerSecond || 0)} fps${kbps != null ? ` · ${formatBitrate(kbps)}` : ""}` : "";
  }
  const out = state.stats.outbound;
  if (out && out.width) {
    sending.textContent = `→ ${out.width}×${out.height} · ${Math.round(out.fps || 0)} fps${out.sentKbps != null ? ` · ${formatBitrate(out.sentKbps)}` : ""}${out.limitedBy ? ` · ${limitText(out.limitedBy)}` : ""}`;
  }
  if (pc.connectionState === "connected") {
    const lossPct = remoteLoss != null ? remoteLoss * 100 : 0;
    const rttMs = rtt != null ? rtt * 1000 : 0;
    const degraded = lossPct > 2 || rttMs > 300 || (data.partners.length && !anyLive);
    setQuality(degraded ? (lossPct > 10 ? "lost" : "degraded") : "good");
  }
}
