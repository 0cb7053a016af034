// The visitor's analytics consent: a cookie the tracker and the server both honour.
(function () {
  "use strict";
  const button = document.getElementById("analytics-consent");
  if (!button) return;
  const name = button.dataset.consentCookie;
  function denied() {
    return document.cookie.split("; ").includes(name + "=denied");
  }
  function show() {
    button.textContent = denied() ? "Analytics: off (turn on)" : "Analytics: on (turn off)";
  }
  button.addEventListener("click", function () {
    const value = denied() ? "granted" : "denied";
    document.cookie = name + "=" + value + "; path=/; max-age=31536000; samesite=lax"
      + (location.protocol === "https:" ? "; secure" : "");
    show();
  });
  show();
})();
