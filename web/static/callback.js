// The demo host's redirect page (sign-in with the widget's login popup off).
// It hands its URL, with the authorization code and state, to the demo page
// that opened this window (same origin only), then closes. The demo page
// passes it on to the widget as rc-adapter-authorization-code.
(() => {
  'use strict';

  function showStranded() {
    history.replaceState(null, '', location.pathname);
    document.getElementById('callback-title').textContent = 'Return to the Demo CRM';
    document.getElementById('callback-detail').textContent =
      'Continue on the Demo CRM page; you can close this window.';
  }

  const opener = window.opener;
  if (!opener || opener.closed) {
    showStranded();
    return;
  }
  opener.postMessage({ callbackUri: location.href }, location.origin);
  window.close();
  setTimeout(showStranded, 500);
})();
