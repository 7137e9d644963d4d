// Progressive enhancement: buttons with data-copy-field="<input id>" are hidden in the HTML and shown here;
// a click copies the field's value (Clipboard API, else a selection + execCommand) and says so in #copy-status.
(function () {
  "use strict";
  function say(text) {
    var status = document.getElementById("copy-status");
    if (status) { status.textContent = text; }
  }
  document.querySelectorAll("button[data-copy-field]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy-field"));
    if (!field) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var done = function () { say(button.getAttribute("data-copied")); };
      var failed = function () { field.focus(); field.select(); say(button.getAttribute("data-failed")); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, failed);
        return;
      }
      field.focus();
      field.select();
      try { if (document.execCommand("copy")) { done(); } else { failed(); } } catch (error) { failed(); }
    });
  });
}());
