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
(function () {
  // 拟执业机构: the search box becomes a combobox (ARIA 1.2 pattern). Typing at least 2
  // characters asks the server for at most 20 matches; up/down move, Enter picks, Escape
  // closes. The pick fills the hidden field and the 科室 list with that institution's only.
  document.querySelectorAll("[data-picker]").forEach(function (box) {
    var name = box.getAttribute("data-picker");
    var form = box.closest("form");
    var input = box.querySelector("input[type=text]");
    if (!form || !input) return;
    var listId = "list-" + name;
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "listbox";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "查询结果");
    list.hidden = true;
    input.insertAdjacentElement("afterend", list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    var status = document.createElement("span");
    status.className = "sr-status";
    status.setAttribute("role", "status");
    box.appendChild(status);
    var items = [], active = -1, timer = null, asked = "";
    var picked = null, deptFor = null;  // the name last picked; the institution whose 科室 are wanted
    var kept = box.querySelector("input[type=hidden][name='" + name + "']");
    if (kept && kept.value) picked = input.value;  // a choice kept by the server: editing drops it

    function hidden() {
      var h = box.querySelector("input[type=hidden][name='" + name + "']");
      if (!h) {
        h = document.createElement("input");
        h.type = "hidden";
        h.name = name;
        box.appendChild(h);
      }
      return h;
    }
    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function mark(i) {
      active = i;
      Array.prototype.forEach.call(list.children, function (li, k) {
        li.setAttribute("aria-selected", k === i ? "true" : "false");
      });
      if (i >= 0 && list.children[i]) {
        input.setAttribute("aria-activedescendant", list.children[i].id);
        list.children[i].scrollIntoView({block: "nearest"});
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }
    function show(results) {
      items = results;
      list.textContent = "";
      results.forEach(function (r, k) {
        var li = document.createElement("li");
        li.id = listId + "-" + k;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.textContent = r.label;
        li.addEventListener("mousedown", function (ev) { ev.preventDefault(); pick(k); });
        list.appendChild(li);
      });
      status.textContent = !results.length ? "未找到该名称的医疗机构"
        : results.length >= 20 ? "找到的机构较多，只列出 20 个；请输入更完整的机构名称"
        : "找到 " + results.length + " 个医疗机构";
      list.hidden = !results.length;
      input.setAttribute("aria-expanded", results.length ? "true" : "false");
      mark(-1);
    }
    function departments(id) {
      var dept = form.querySelector("select[data-depends-on='" + name + "']");
      if (!dept) return;
      deptFor = id;
      if (id === null) { while (dept.options.length > 1) dept.remove(1); dept.value = ""; return; }
      var url = box.getAttribute("data-departments-url").replace("/0/", "/" + id + "/");
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : {results: []}; })
        .then(function (data) {
          if (deptFor !== id) return;  // a later pick's list is the one to show
          while (dept.options.length > 1) dept.remove(1);
          data.results.forEach(function (d) { dept.add(new Option(d.name, String(d.id))); });
          dept.value = "";
        });
    }
    function pick(k) {
      var r = items[k];
      if (!r) return;
      var matches = box.querySelector(".matches");
      if (matches) matches.remove();
      hidden().value = String(r.id);
      var chosen = box.querySelector(".chosen");
      if (!chosen) {
        chosen = document.createElement("p");
        chosen.className = "chosen";
        chosen.id = "chosen-" + name;
        chosen.setAttribute("aria-live", "polite");
        box.appendChild(chosen);
      }
      chosen.textContent = "已选：" + r.label;
      input.value = r.name;
      picked = r.name;
      close();
      departments(r.id);
    }
    function ask() {
      var q = input.value.trim();
      if (q.length < 2) { close(); return; }
      if (q === asked) return;
      asked = q;
      var url = box.getAttribute("data-search-url") + "?q=" + encodeURIComponent(q);
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : {results: []}; })
        .then(function (data) { if (input.value.trim() === q) show(data.results); })
        .catch(function () { asked = ""; });
    }
    input.addEventListener("input", function () {
      if (picked !== null && input.value !== picked) {  // typing again: the earlier pick is gone
        picked = null;
        hidden().value = "";
        var chosen = box.querySelector(".chosen");
        if (chosen) chosen.textContent = "尚未选择";
        departments(null);
      }
      clearTimeout(timer);
      timer = setTimeout(ask, 250);
    });
    input.addEventListener("keydown", function (ev) {
      var open = !list.hidden;
      if (ev.key === "ArrowDown") {
        ev.preventDefault();
        if (!open && items.length) { list.hidden = false; input.setAttribute("aria-expanded", "true"); }
        mark(Math.min(active + 1, items.length - 1));
      } else if (ev.key === "ArrowUp") {
        ev.preventDefault();
        if (open) mark(Math.max(active - 1, 0));
      } else if (ev.key === "Enter") {
        // Enter picks the highlighted match; never submits the application from this box
        ev.preventDefault();
        if (open && active >= 0) pick(active);
        else { clearTimeout(timer); asked = ""; ask(); }
      } else if (ev.key === "Escape") {
        if (open) { ev.preventDefault(); close(); }
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  });
})();
