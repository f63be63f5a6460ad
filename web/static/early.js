// The widget's first words to the host, said while its page is still
// arriving. The page runs boot.js (this module and what it imports, inline
// in the page's head) before the widget's own script, which a cold frame
// takes a few hundred milliseconds to fetch, run and lay out, and which the
// browser lets speak to the host only once that work is done. startEarly
// tells the host the session the page was served with and keeps what the
// host sends meanwhile; the bridge takes those messages over, in order.

import { bootSession, sessionEvents } from './session.js';

function originOf(url) {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}

// resolveHostOrigin picks the origin of the embedding page: the one the
// server determined, else the frame's first ancestor, else the referrer's.
// origin is '' unless the candidate is on the app's allowed list.
export function resolveHostOrigin(config, { ancestorOrigins, referrer }) {
  const candidate = config.hostOrigin || ancestorOrigins?.[0] || originOf(referrer);
  const allowed = config.allowedOrigins ?? [];
  return { candidate, origin: allowed.includes(candidate) ? candidate : '' };
}

// startEarly posts the session's events to the host page, if there is one
// and its origin is allowed, and keeps every message the window receives.
// It returns { postedTo, take() }: postedTo is the origin the events went to
// ('' if none did); take() stops keeping and returns what was kept.
export function startEarly(win, config) {
  const kept = [];
  const keep = (event) => kept.push(event);
  win.addEventListener('message', keep);
  let postedTo = '';
  if (win.parent !== win) {
    const { origin } = resolveHostOrigin(config, {
      ancestorOrigins: win.location.ancestorOrigins,
      referrer: win.document.referrer,
    });
    if (origin) {
      sessionEvents(null, bootSession(config)).forEach((event) => win.parent.postMessage(event, origin));
      postedTo = origin;
    }
  }
  return Object.freeze({
    postedTo,
    take() {
      win.removeEventListener('message', keep);
      return kept.splice(0);
    },
  });
}
