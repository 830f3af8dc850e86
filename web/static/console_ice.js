// When the console's offer goes out: once the ICE candidates that matter are in.

const ICE_GATHER_TIMEOUT_MS = 3000;
const ICE_SETTLE_MS = 300;

// Offer once the candidates that matter are in, not when gathering completes: Chromium
// completes only when every STUN/TURN server has answered or given up, so one unreachable
// server would hold every join for seconds. Wait for the first relay candidate when a TURN
// server is configured (else the first server-reflexive one when a STUN server is), give the
// other servers ICE_SETTLE_MS more, and never wait longer than ICE_GATHER_TIMEOUT_MS (the
// bridge has host candidates). Call it before setLocalDescription, so no candidate is missed.
export function waitForIceGathering(pc, iceServers, state) {
  const urls = iceServers.flatMap((s) => [].concat(s.urls));
  const wanted = urls.some((u) => /^turns?:/.test(u))
    ? "relay"
    : urls.some((u) => /^stuns?:/.test(u))
      ? "srflx"
      : null;
  const started = performance.now();
  const types = [];
  return new Promise((resolve) => {
    let settle = null;
    const finish = () => {
      clearTimeout(settle);
      clearTimeout(limit);
      pc.removeEventListener("icecandidate", onCandidate);
      pc.removeEventListener("icegatheringstatechange", onState);
      // For master control tooling and the tests: how long the offer waited, and for what.
      state.gathering = { ms: Math.round(performance.now() - started), types };
      resolve();
    };
    const onCandidate = (event) => {
      if (!event.candidate || !event.candidate.candidate) return;
      types.push(event.candidate.type);
      if (event.candidate.type === wanted && settle === null) {
        settle = setTimeout(finish, ICE_SETTLE_MS);
      }
    };
    const onState = () => {
      if (pc.iceGatheringState === "complete") finish();
    };
    pc.addEventListener("icecandidate", onCandidate);
    pc.addEventListener("icegatheringstatechange", onState);
    const limit = setTimeout(finish, ICE_GATHER_TIMEOUT_MS);
  });
}
