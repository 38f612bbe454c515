// Phone header: the menu button shows and hides the navigation (no inline script: CSP).
// Without this file the CSS keeps the menu open, so nothing is ever out of reach.
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", function () {
  var button = document.querySelector("button.menu-toggle");
  var header = document.querySelector("header.topbar");
  if (!button || !header) { return; }
  button.addEventListener("click", function () {
    var open = header.classList.toggle("menu-open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
});
