// The sign-in window's redirect page. It hands the URL it was opened with
// (the authorization code and state) to the widget that opened the window,
// at the widget's exact origin only, and closes. The widget checks that the
// message comes from its own window and gives the URL to its server.
(() => {
  'use strict';

  const widgetOrigin = document.body.dataset.widgetOrigin || '';

  // showStranded says what to do when there is no widget to hand back to, and
  // drops the code from the address bar: it is of no use to anyone now.
  function showStranded() {
    history.replaceState(null, '', location.pathname);
    // The words, in the page's language, are the page's own (redirect.templ).
    document.getElementById('redirect-title').textContent = document.body.dataset.strandedTitle || '';
    document.getElementById('redirect-detail').textContent = document.body.dataset.strandedText || '';
    document.getElementById('redirect-progress').hidden = true;
  }

  const opener = window.opener;
  if (!opener || opener.closed || !widgetOrigin) {
    showStranded();
    return;
  }
  opener.postMessage({ callbackUri: location.href }, widgetOrigin);
  window.close();
  // Still open: the browser did not let this page close its own window.
  setTimeout(showStranded, 500);
})();
