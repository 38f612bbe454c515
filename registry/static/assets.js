// Asset list: "select all on this page" for bulk edit (no inline script: CSP).
document.addEventListener("DOMContentLoaded", function () {
  var all = document.getElementById("select-all");
  if (!all) { return; }
  all.addEventListener("change", function () {
    document.querySelectorAll("input.row-select").forEach(function (box) { box.checked = all.checked; });
  });
});
