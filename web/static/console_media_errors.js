// Why the camera or microphone did not start, in the page's language. The browser names the
// failure (getUserMedia's DOMException); join.html carries one translated message per cause
// on #console-error (data-text-media-*), so the operator reads what to do, not "NotAllowedError".

const box = document.getElementById("console-error");

// DOMException names (and older Chromium's) by what the operator can do about them.
const CAUSES = {
  NotAllowedError: "Denied", // the operator or a site setting said no
  PermissionDeniedError: "Denied",
  SecurityError: "Denied",
  NotFoundError: "None", // no camera or microphone at all
  DevicesNotFoundError: "None",
  OverconstrainedError: "None", // the chosen device is gone (unplugged)
  NotReadableError: "Busy", // held by another program, or the driver failed to start it
  TrackStartError: "Busy",
  AbortError: "Busy",
};

/** The translated message for a getUserMedia failure `err`. */
export function mediaErrorText(err) {
  // Without a secure origin (plain http off localhost) there is no navigator.mediaDevices.
  const cause = !navigator.mediaDevices ? "Insecure" : CAUSES[err && err.name] || "Other";
  const text = box.dataset[`textMedia${cause}`] || "";
  const detail = (err && (err.name || err.message)) || String(err);
  return text.replace("{error}", detail);
}
