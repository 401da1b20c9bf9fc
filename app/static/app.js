// Progressive enhancement only: every form works without JavaScript.
(function () {
  // Ask before irreversible actions.
  document.querySelectorAll("[data-confirm]").forEach(function (el) {
    var form = el.form || el.closest("form");
    if (!form) return;
    form.addEventListener("submit", function (ev) {
      if (ev.submitter && ev.submitter !== el) return;
      if (!window.confirm(el.getAttribute("data-confirm"))) ev.preventDefault();
    });
  });
  // Show only the departments of the chosen institution.
  document.querySelectorAll("form[data-departments]").forEach(function (form) {
    var map = JSON.parse(form.getAttribute("data-departments") || "{}");
    var dept = form.querySelector("select[data-depends-on]");
    if (!dept) return;
    var inst = form.querySelector("[name='" + dept.getAttribute("data-depends-on") + "']");
    if (!inst || inst.tagName !== "SELECT") return;
    function refresh() {
      Array.prototype.forEach.call(dept.options, function (o) {
        if (!o.value) return;
        var ok = map[o.value] === inst.value;
        o.hidden = !ok; o.disabled = !ok;
        if (!ok && o.selected) dept.value = "";
      });
    }
    inst.addEventListener("change", refresh);
    refresh();
  });
})();
(function () {
  // 换一张: load a new captcha image.
  document.querySelectorAll(".captcha-refresh").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      var img = a.parentNode.querySelector(".captcha-img");
      img.src = img.src.split("?")[0] + "?" + Date.now();
    });
  });
})();
(function () {
  // A table wider than the screen scrolls inside itself (app.css): make it reachable by
  // keyboard and say so above it.
  var tables = document.querySelectorAll("table.grid:not(.cards)");
  function mark() {
    tables.forEach(function (t) {
      var wide = t.scrollWidth > t.clientWidth + 1;
      var hint = t.previousElementSibling;
      var has = hint && hint.classList.contains("scroll-hint");
      if (wide) {
        t.setAttribute("tabindex", "0");
        if (!has) {
          hint = document.createElement("p");
          hint.className = "scroll-hint";
          hint.textContent = "表格较宽，可左右滑动查看";
          t.parentNode.insertBefore(hint, t);
        }
      } else {
        t.removeAttribute("tabindex");
        if (has) hint.remove();
      }
    });
  }
  mark();
  window.addEventListener("resize", mark);
})();
