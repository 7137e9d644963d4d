// Progressive enhancement: after a failed submit the page opens with an error summary; move the
// keyboard and screen-reader focus there so the first thing announced is what to correct.
// External file (the CSP allows no inline script); without JavaScript the summary is still the
// first thing in the main content and the page title starts with "Fehler:".
document.addEventListener("DOMContentLoaded", () => {
  const summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
});
