// 使用手册: the 打印 button prints the page (the print style hides the menus)
document.querySelectorAll("[data-print]").forEach(function (el) {
  el.addEventListener("click", function () { window.print(); });
});
