// The widget's tabs of one browser: an id for this tab, and which tab was
// used last, the one that tells the host of calls when
// disableInactiveTabCallEvent is set.

// newTabId names this tab among the widget's tabs of this browser. Pages
// served without TLS (other than localhost) lack crypto.randomUUID; the
// fallback makes the same random version-4 UUID. random is the page's crypto.
export function newTabId(random = crypto) {
  if (typeof random.randomUUID === 'function') return random.randomUUID();
  const bytes = random.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// With disableInactiveTabCallEvent these go to the host only from the most
// recently active tab of the browser, so a host page open in several tabs
// logs each call once.
export const TAB_SCOPED_EVENTS = ['rc-active-call-notify', 'rc-telephony-session-notify'];
const ACTIVE_TAB_KEY = 'cb-active-tab';

// trackActiveTab remembers, in this origin's storage (shared by the tabs of
// the same host site), which tab was shown or used last. Without the flag
// every tab counts as active.
export function trackActiveTab(enabled, tabId) {
  if (!enabled) return { isActive: () => true };
  const claim = () => {
    if (document.visibilityState !== 'visible') return;
    try {
      localStorage.setItem(ACTIVE_TAB_KEY, tabId);
    } catch {
      // storage refused: every tab relays, as without the flag
    }
  };
  claim();
  document.addEventListener('visibilitychange', claim);
  window.addEventListener('focus', claim);
  window.addEventListener('pointerdown', claim, true);
  return {
    isActive() {
      try {
        const active = localStorage.getItem(ACTIVE_TAB_KEY);
        return active === null || active === tabId;
      } catch {
        return true;
      }
    },
  };
}
