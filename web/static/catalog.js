/* Small enhancements on top of pages that work without JavaScript.
 * - A "select all" checkbox for tables of checkboxes: a table with data-select-all gets one in its first header
 *   cell; it toggles every row checkbox of that table and follows their state.
 */
(function () {
  "use strict";

  function addSelectAll(table) {
    var boxes = function () { return table.querySelectorAll("tbody input[type=checkbox]"); };
    var cell = table.querySelector("thead th");
    if (!cell || !boxes().length || cell.querySelector("input")) return;
    var all = document.createElement("input");
    all.type = "checkbox";
    all.setAttribute("aria-label", table.getAttribute("data-select-all") || "Select all rows");
    cell.prepend(all);
    var sync = function () {
      var list = Array.prototype.slice.call(boxes());
      var checked = list.filter(function (b) { return b.checked; }).length;
      all.checked = checked === list.length;
      all.indeterminate = checked > 0 && checked < list.length;
    };
    all.addEventListener("change", function () {
      boxes().forEach(function (b) { b.checked = all.checked; });
      sync();
    });
    table.addEventListener("change", function (event) { if (event.target !== all) sync(); });
    sync();
  }

  function enhance(root) {
    root.querySelectorAll("table[data-select-all]").forEach(addSelectAll);
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSettle", function (event) { enhance(event.target); });
})();
