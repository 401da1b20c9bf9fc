// Shows an application's diagram (bpmn-js viewer, served locally) with finished and
// current steps marked. The page works without it: the history table says the same.
(function () {
  var el = document.getElementById("diagram");
  if (!el || typeof BpmnJS === "undefined") return;
  fetch(el.getAttribute("data-url"), { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (d) {
      var viewer = new BpmnJS({ container: el });
      return viewer.importXML(d.xml).then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        d.done.forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "step-done"); });
        d.current.forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "step-current"); });
        canvas.zoom("fit-viewport");
        el.setAttribute("data-ready", "true");
      });
    })
    .catch(function () { el.textContent = "流程图暂时无法显示。"; });
})();
