// 医师法 第十七条: as 事由发生日期 is typed, say how far past the 30-day report limit it is.
// Progressive enhancement only: the server shows the same warning after a refused attempt and
// marks late reports; the report is never blocked.
(function () {
  var form = document.querySelector("form[data-report-days]");
  var input = document.getElementById("in-event_date");
  if (!form || !input) return;
  var limit = parseInt(form.getAttribute("data-report-days"), 10);
  var field = document.getElementById("field-event_date");
  function note() {
    var el = field.querySelector(".flagged");
    if (!el) {
      el = document.createElement("div");
      el.className = "flagged";
      el.setAttribute("role", "note");
      el.setAttribute("aria-live", "polite");
      field.querySelector(".control").after(el);
    }
    return el;
  }
  function refresh() {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(input.value);
    var days = 0;
    if (m) {
      var now = new Date();
      var today = Date.UTC(now.getFullYear(), now.getMonth(), now.getDate());
      var event = Date.UTC(+m[1], +m[2] - 1, +m[3]);
      days = Math.round((today - event) / 86400000) - limit;
    }
    var el = field.querySelector(".flagged");
    if (days > 0) note().textContent = "已超过 " + limit + " 日报告期限 " + days + " 天";
    else if (el) el.remove();
  }
  input.addEventListener("input", refresh);
  input.addEventListener("change", refresh);
})();
