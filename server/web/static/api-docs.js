// Starts Swagger UI on /api/docs (server/templates/swagger_ui.html); kept out of the page so
// the Content-Security-Policy can forbid inline scripts there too.
(function () {
  var container = document.getElementById("swagger-ui-container");
  var config = { url: container.dataset.specUrl, dom_id: "#swagger-ui-container" };
  var extra = JSON.parse(container.dataset.config || "{}");
  Object.keys(extra).forEach(function (key) { config[key] = extra[key]; });
  window.addEventListener("load", function () { window.ui = SwaggerUIBundle(config); });
})();
