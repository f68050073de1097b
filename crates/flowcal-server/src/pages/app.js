// flowcal: a little progressive enhancement. Every page works without it.
document.addEventListener("click", (ev) => {
  const b = ev.target.closest("button[data-copy]");
  if (!b) return;
  const input = document.getElementById(b.dataset.copy);
  if (!input) return;
  input.select();
  (navigator.clipboard ? navigator.clipboard.writeText(input.value) : Promise.reject())
    .catch(() => document.execCommand("copy"))
    .finally(() => { b.textContent = "Copied"; });
});
document.addEventListener("submit", (ev) => {
  const msg = ev.target.dataset && ev.target.dataset.confirm;
  if (msg && !window.confirm(msg)) ev.preventDefault();
});
