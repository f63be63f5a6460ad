// The widget's views as layers, and the keyboard's focus across them. The
// pages lie at the bottom; the call panel, the ringing call and the
// transfer panel each cover what lies under them. Whatever a shown layer
// covers is inert (out of the tab order and the accessibility tree), and
// so is every hidden view. This module is the one place that says so: it
// watches the views' hidden attribute, whichever module changes it.
//
// Focus follows the top layer: a layer that appears takes the focus (the
// ringing call on Answer), and a layer that goes gives it back where it was
// before, or, when that is gone or covered now, to the layer then on top. A
// page that shows gives it to its heading or its first control. Focus moves
// only while the widget's document has it, or would lose it: the widget
// never takes the keyboard from the host page by itself.

// The elements under the layers: the pages, the bars between them and the
// top bar, and the tabs.
const UNDER_CALL = ['#cb-ringout', '#cb-call-bar', '#cb-elsewhere', '.pages'];

// LAYERS lists the layers, top first: each is an element, what it covers
// while shown, and what takes the focus when it appears.
export const LAYERS = Object.freeze([
  // A second call ringing over the call in progress covers nothing: the
  // call stays in reach (callwaiting.js), and a user typing goes on typing.
  { selector: '#cb-waiting', covers: [], focus: '#cb-waiting-hold', sparesTyping: true },
  {
    selector: '#cb-transfer',
    covers: ['.topbar', ...UNDER_CALL, '#cb-active-call', '#cb-incoming', '#cb-tabs'],
    focus: '#cb-transfer-to',
  },
  { selector: '#cb-incoming', covers: [...UNDER_CALL, '#cb-active-call'], focus: '#cb-answer' },
  { selector: '#cb-active-call', covers: UNDER_CALL, focus: '#cb-call-name' },
]);

// coveredBy lists what the shown layers cover (shown: a set of selectors).
export function coveredBy(shown, layers = LAYERS) {
  const covered = new Set();
  for (const layer of layers) {
    if (shown.has(layer.selector)) layer.covers.forEach((selector) => covered.add(selector));
  }
  return covered;
}

// topLayer is the top one of the shown layers, or null.
export const topLayer = (shown, layers = LAYERS) => layers.find((layer) => shown.has(layer.selector)) ?? null;

const FOCUSABLE = 'a[href], button, input, select, textarea, audio[controls], [tabindex]';
const TARGETS = `h1, h2, ${FOCUSABLE}`;

// canFocus says whether element can take the keyboard's focus now.
function canFocus(element) {
  if (!element?.isConnected || element.closest('[inert]') || element.disabled) return false;
  return typeof element.checkVisibility === 'function' ? element.checkVisibility() : element.getClientRects().length > 0;
}

// focusOn puts the focus on element; a heading takes it without entering
// the tab order. It returns whether it did.
export function focusOn(element) {
  if (!element) return false;
  if (/^H[1-6]$/.test(element.tagName) && !element.hasAttribute('tabindex')) element.tabIndex = -1;
  if (!canFocus(element)) return false;
  element.focus({ preventScroll: true });
  return document.activeElement === element;
}

// focusView puts the focus on the first heading or control that shows in
// view. It returns whether it did.
export function focusView(view) {
  if (!view) return false;
  for (const element of view.querySelectorAll(TARGETS)) {
    if (element.matches('h1, h2') && element.textContent.trim() === '') continue;
    if (focusOn(element)) return true;
  }
  return false;
}

// mayMoveFocus says whether the widget may move the focus now: only while
// its document has it (focusing an element of a frame that has not would
// take the keyboard from the host page).
export const mayMoveFocus = () => document.hasFocus();

// onNothing says whether the focus is on nothing the user can reach.
const onNothing = () => !document.activeElement || document.activeElement === document.body || !canFocus(document.activeElement);

// bindLayers keeps the layers' inertness and focus. currentView() is the
// page shown, to take the focus when the last layer goes.
export function bindLayers({ currentView }) {
  const elements = new Map(LAYERS.map((layer) => [layer.selector, document.querySelector(layer.selector)]));
  const covered = [...new Set(LAYERS.flatMap((layer) => layer.covers))];
  // Where the focus was when each shown layer appeared.
  const returnTo = new Map();
  let shown = new Set();

  function apply() {
    const now = new Set(LAYERS.filter((layer) => !elements.get(layer.selector)?.hidden).map((layer) => layer.selector));
    const appeared = [...now].filter((selector) => !shown.has(selector));
    const gone = [...shown].filter((selector) => !now.has(selector));
    const before = document.activeElement;
    const inherited = gone.map((selector) => returnTo.get(selector)).find(Boolean);
    for (const selector of appeared) {
      const fromGone = gone.some((g) => elements.get(g)?.contains(before));
      returnTo.set(selector, fromGone || before === document.body ? inherited ?? null : before);
    }
    gone.forEach((selector) => returnTo.delete(selector));
    shown = now;

    const lying = coveredBy(now);
    for (const selector of covered) {
      const element = document.querySelector(selector);
      if (element) element.inert = lying.has(selector);
    }
    for (const [selector, element] of elements) if (element) element.inert = !now.has(selector) || lying.has(selector);

    const top = topLayer(now);
    const goneElements = gone.map((selector) => elements.get(selector));
    const lost = onNothing() || goneElements.some((element) => element?.contains(before));
    if (!mayMoveFocus()) return;
    if (top && appeared.includes(top.selector)) {
      const typing = canFocus(before) && before.matches('input, textarea, select');
      if (!(top.sparesTyping && typing)) focusTop(top);
      return;
    }
    if (gone.length === 0 || !lost) return;
    if (inherited && canFocus(inherited) && focusOn(inherited)) return;
    focusTop(top);
  }

  // focusTop puts the focus on the top layer, or on the page when none shows.
  function focusTop(top) {
    if (!top) focusView(currentView());
    else if (!focusOn(document.querySelector(top.focus))) focusView(elements.get(top.selector));
  }

  const observer = new MutationObserver(apply);
  for (const element of elements.values()) {
    if (element) observer.observe(element, { attributes: true, attributeFilter: ['hidden'] });
  }
  apply();

  // A keyboard that comes into the widget from the host page (its skip
  // shortcut focuses the frame) lands on the top layer when nothing inside
  // holds the focus.
  window.addEventListener('focus', () => {
    if (onNothing()) focusTop(topLayer(shown));
  });

  return { apply };
}
