// Talkback on the studio console: while a producer talks into this studio's ear (their voice is
// in the program return, which is lowered under it), the console says who, next to the tally.
const box = document.getElementById("talkback-on");
const label = document.getElementById("talkback-on-text");

document.addEventListener("telebridge:state", (event) => {
  const names = event.detail.talkback || [];
  box.hidden = names.length === 0;
  label.textContent = names.length ? box.dataset.text.replace("%(names)s", names.join(", ")) : "";
});
