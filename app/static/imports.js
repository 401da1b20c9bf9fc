// Runs an import batch by batch and shows the progress; without scripts the
// "继续导入" button does the same one batch at a time.
(function () {
  var box = document.getElementById("import");
  if (!box || box.getAttribute("data-status") === "done") return;
  var form = document.getElementById("import-continue");
  if (form) form.hidden = true;
  var bar = document.getElementById("import-progress");
  function show(d) {
    bar.value = d.processed;
    ["processed", "imported", "failed"].forEach(function (k) {
      box.querySelector("[data-k=" + k + "]").textContent = d[k];
    });
  }
  function next() {
    fetch(box.getAttribute("data-step-url"), {
      method: "POST", credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": box.getAttribute("data-csrf") }
    }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    }).then(function (d) {
      show(d);
      if (d.status === "done") window.location.reload();
      else next();
    }).catch(function () {
      if (form) form.hidden = false;
      document.getElementById("import-counts").appendChild(document.createTextNode(" 导入中断，请点击“继续导入”。"));
    });
  }
  next();
})();
