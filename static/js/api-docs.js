// API reference (/api/v1/docs): the page lists every operation without JavaScript; with it, the
// self-hosted Swagger UI renders the same OpenAPI document in its place. Nothing is loaded from
// another host: no validator badge, no remote configuration, no deep links to other sites.
"use strict";

(function () {
  const target = document.getElementById("api-reference");
  if (!target || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  const url = target.getAttribute("data-document");
  target.textContent = "";
  window.SwaggerUIBundle({
    url: url,
    domNode: target,
    validatorUrl: null,
    deepLinking: false,
    queryConfigEnabled: false,
    tryItOutEnabled: false,
    supportedSubmitMethods: [],
    defaultModelsExpandDepth: 0,
    docExpansion: "list",
    syntaxHighlight: false, // plain examples: the highlighter's colours are too faint (axe color-contrast)
  });
})();
