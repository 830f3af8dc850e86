// Small progressive enhancements; every page works without them.

for (const el of document.querySelectorAll("select[data-autosubmit]")) {
  el.addEventListener("change", () => el.form.submit());
}

for (const button of document.querySelectorAll("button[data-copy]")) {
  button.addEventListener("click", async () => {
    const label = button.textContent;
    try {
      await navigator.clipboard.writeText(button.dataset.copy);
      button.textContent = "✓";
    } catch {
      const input = button.parentElement.querySelector("input");
      if (input) input.select();
    }
    setTimeout(() => { button.textContent = label; }, 1500);
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
