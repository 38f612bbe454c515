// Follow a background task: poll its state once a second, move the bar, and open the result when done.
(function () {
  var box = document.getElementById("task");
  if (!box || !box.dataset.poll) { return; }
  var url = box.dataset.poll;
  var bar = document.getElementById("task-bar");
  var stage = document.getElementById("task-stage");
  var status = document.getElementById("task-status");
  function number(n) { return n.toLocaleString("zh-CN"); }
  function tick() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (s) {
        bar.value = s.percent;
        bar.textContent = s.percent + "%";
        status.textContent = s.status_label;
        stage.textContent = s.stage + (s.total && !s.finished ? "：" + number(s.done) + " / " + number(s.total) : "")
          + " " + s.percent + "%";
        if (s.finished) {
          if (s.redirect) { window.location.assign(s.redirect); } else { window.location.reload(); }
          return;
        }
        window.setTimeout(tick, 1000);
      })
      .catch(function () { window.setTimeout(tick, 3000); });
  }
  window.setTimeout(tick, 500);
})();
