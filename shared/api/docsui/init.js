// Renders the API reference from the document this API serves. A file of its own, not an inline
// script: the page's Content-Security-Policy allows scripts from this origin only.
"use strict";
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: new URL("v1/openapi.json", document.baseURI).href,
    dom_id: "#reference",
    deepLinking: true,
    // The document is this API's own: no validator service elsewhere is asked about it.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
