// Small progressive enhancements; every page works without them.
import "./nav.js";

for (const el of document.querySelectorAll("select[data-autosubmit]")) {
  el.addEventListener("change", () => el.form.submit());
}

// A copy button says "Copied" in its status beside it (a live region: read out too) when it
// has one (data-copied), else for a moment on itself; when the browser refuses the clipboard,
// the text is shown selected for the reader to copy.
for (const button of document.querySelectorAll("button[data-copy]")) {
  const status = button.parentElement.querySelector("[data-copy-status]");
  let timer;
  button.addEventListener("click", async () => {
    clearTimeout(timer);
    const label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    try {
      await navigator.clipboard.writeText(button.dataset.copy);
      if (status && button.dataset.copied) status.textContent = button.dataset.copied;
      else button.textContent = "✓";
    } catch {
      const input = button.parentElement.querySelector("input");
      const details = input && input.closest("details");
      if (details) details.open = true;
      if (input) input.select();
    }
    timer = setTimeout(() => {
      button.textContent = label;
      if (status) status.textContent = "";
    }, 2500);
  });
}

for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}

function formatLeft(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return (d ? `${d}d ` : "") + `${pad(h)}:${pad(m)}:${pad(sec)}`;
}

const countdowns = document.querySelectorAll("[data-countdown]");
if (countdowns.length) {
  const tick = () => {
    for (const el of countdowns) {
      const left = new Date(el.dataset.countdown).getTime() - Date.now();
      const text = el.querySelector("[data-countdown-text]");
      if (text) text.textContent = formatLeft(left);
      if (left <= 0 && el.dataset.reloaded !== "1") {
        el.dataset.reloaded = "1";
        window.location.reload();
      }
    }
  };
  tick();
  setInterval(tick, 1000);
}

// The week calendar opens scrolled to its first booking (or to the working morning).
const grid = document.querySelector(".weekgrid[data-scroll-to]");
if (grid) {
  const body = grid.querySelector(".weekgrid-body");
  const column = body.querySelector(".daybody");
  const pct = Math.max(0, Number(grid.dataset.scrollTo) - 2);
  body.scrollTop = (column.offsetHeight * pct) / 100;
}
