// The top bar on a phone (app.css, "Phone"): its links and tools fold under the Menu button.
// Without this script the button stays hidden and the bar wraps, so every link is reachable.

export function foldNav(bar) {
  const toggle = bar.querySelector("[data-navtoggle]");
  if (!toggle) return;
  const setOpen = (open) => {
    toggle.setAttribute("aria-expanded", String(open));
    bar.classList.toggle("nav-open", open);
  };
  bar.classList.add("nav-folds");
  setOpen(false);
  // A disclosure: the keyboard stays on the button, and the links follow it in the tab order.
  toggle.addEventListener("click", () => setOpen(toggle.getAttribute("aria-expanded") !== "true"));
  // Escape closes the menu from anywhere in it, and the keyboard is back on the button.
  bar.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || toggle.getAttribute("aria-expanded") !== "true") return;
    setOpen(false);
    toggle.focus();
  });
}

const bar = document.querySelector(".topbar");
if (bar) foldNav(bar);
