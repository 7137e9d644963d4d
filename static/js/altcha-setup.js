// The self-hosted ALTCHA widget in its CSP-strict build runs its proof of work in a worker loaded from
// this site (no blob: workers, no inline styles): register it for the algorithms the server issues.
const workerUrl = new URL("../vendor/altcha/workers/sha.js", import.meta.url);
for (const algorithm of ["SHA-256", "SHA-384", "SHA-512"]) {
  globalThis.$altcha.algorithms.set(algorithm, () => new Worker(workerUrl));
}

// Solve on load only now that the workers are registered: the widget's own auto="onload" in the markup
// started its proof of work a millisecond after the element connected, which could be before this
// module ran, and then never finished (seen in the browser tests).
for (const widget of document.querySelectorAll("altcha-widget")) {
  widget.setAttribute("auto", "onload");
}
