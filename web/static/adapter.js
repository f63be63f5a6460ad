// Embeds the phone widget into a host page and exposes window.RCAdapter.
(() => {
  'use strict';
  const warn = (m) => console.warn('[adapter] ' + m);
  const script = document.currentScript || [...document.querySelectorAll('script[src*="adapter.js"]')].pop();
  if (!script) return warn('cannot find own script element');
  const src = new URL(script.src, location.href);
  const origin = src.origin;
  const q = src.searchParams;

  const flag = (name, def, ok) => {
    const v = q.get(name);
    if (!v || ok(v)) return v || def;
    warn(`flag ${name}="${v}" is not valid; using ${def}`);
    return def;
  };
  const bool = (name) => /^(1|true)$/.test(flag(name, '0', (v) => /^(1|0|true|false)$/.test(v)));
  const prefix = flag('prefix', 'rc-widget', (v) => /^[a-z0-9-]+$/.test(v));
  const left = flag('defaultDirection', 'right', (v) => v === 'left' || v === 'right') === 'left';
  const zIndex = flag('zIndex', '999', (v) => /^-?\d{1,10}$/.test(v));
  const noMin = bool('disableMinimize');
  const noCall = bool('disableCall');
  const noSms = bool('disableMessages');
  // The frame's size; compact on a page less than twice as wide.
  const size = (name, def, min) => +flag(name, def, (v) => /^\d{3,4}$/.test(v) && v >= min);
  const W = size('width', 320, 300), H = size('height', 520, 400) + 'px';
  const compact = innerWidth < 2 * W, gap = compact ? 8 : 16;

  if (window.RCAdapter || document.getElementById(prefix + '-adapter-frame')) {
    return warn('already loaded; ignoring second copy');
  }

  // The bar's words. The server writes this line in the widget's language
  // (the lang flag, else the browser's) when it serves this file.
  const words = {"phone":"Phone","incomingCall":"Incoming call","minimise":"Minimise","expand":"Expand","close":"Close","badge":"Missed calls: {missed}, unread messages: {unread}"};
  const ac = new AbortController();
  const on = (el, type, fn, capture) => el.addEventListener(type, fn, { signal: ac.signal, capture });
  const make = (tag, props = {}, css = {}) => {
    const n = Object.assign(document.createElement(tag), props);
    Object.assign(n.style, css);
    return n;
  };

  // --- DOM ---
  const box = make('div', { id: prefix }, {
    position: 'fixed', bottom: gap + 'px', [left ? 'left' : 'right']: gap + 'px', zIndex,
    borderRadius: '12px', overflow: 'hidden', background: '#fff',
    boxShadow: '0 8px 28px rgba(0,0,0,.28)', display: 'flex', flexDirection: 'column',
    font: '13px/1 system-ui,sans-serif',
  });
  const head = make('div', { className: prefix + '-header' }, {
    display: 'flex', alignItems: 'center', gap: '4px', height: '36px', padding: '0 4px 0 12px',
    background: '#1f2937', color: '#f9fafb', cursor: 'grab', userSelect: 'none', touchAction: 'none',
  });
  const title = make('span', { textContent: words.phone }, { flex: '1', fontWeight: '600' });
  // Missed calls and unread messages, on the bar while minimised.
  const badge = make('span', { hidden: true }, {
    padding: '3px 6px', borderRadius: '9px', background: '#dc2626', color: '#fff', fontSize: '11px', fontWeight: '600',
  });
  const label = (b, text) => { b.title = text; b.setAttribute('aria-label', text); };
  const button = (text, glyph) => {
    const b = make('button', { type: 'button', textContent: glyph }, {
      width: '28px', height: '28px', padding: '0', border: '0', borderRadius: '6px', background: 'transparent',
      color: 'inherit', fontFamily: 'inherit', fontSize: '16px', lineHeight: '1', cursor: 'pointer',
    });
    label(b, text);
    return b;
  };
  const minBtn = button(words.minimise, '\u2013');
  const closeBtn = button(words.close, '\u00d7');
  if (noMin) minBtn.style.display = 'none';
  head.append(title, badge, minBtn, closeBtn);

  const params = new URLSearchParams(q);
  params.delete('width');
  params.delete('height');
  params.set('fromAdapter', '1');
  params.set('hostOrigin', location.origin);
  const frame = make('iframe', {
    id: prefix + '-adapter-frame', title: words.phone, src: `${origin}/app?${params}`,
  }, { display: 'block', width: W + 'px', maxWidth: `calc(100vw - ${2 * gap}px)`, height: H, maxHeight: `calc(100vh - ${36 + 2 * gap}px)`, border: '0' });
  frame.setAttribute('allow', 'microphone; autoplay');
  box.append(head, frame);

  const style = make('style', {
    textContent: `#${prefix} button:hover{background:rgba(255,255,255,.16)!important}` +
      `#${prefix} button:focus-visible{outline:2px solid #93c5fd;outline-offset:1px}`,
  });

  // --- Position, minimise, close ---
  let moved = false;
  const place = (x, y) => {
    const w = document.documentElement.clientWidth, h = document.documentElement.clientHeight;
    Object.assign(box.style, {
      left: Math.max(0, Math.min(x, w - box.offsetWidth)) + 'px',
      top: Math.max(0, Math.min(y, h - box.offsetHeight)) + 'px',
      right: 'auto', bottom: 'auto',
    });
    moved = true;
  };
  const reclamp = () => {
    const r = box.getBoundingClientRect();
    if (moved && r.width) place(r.left, r.top);
  };
  let drag = null;
  on(head, 'pointerdown', (e) => {
    if (e.button !== 0 || e.target.closest('button')) return;
    const r = box.getBoundingClientRect();
    drag = { dx: e.clientX - r.left, dy: e.clientY - r.top };
    head.setPointerCapture(e.pointerId);
    head.style.cursor = 'grabbing';
    e.preventDefault();
  });
  on(head, 'pointermove', (e) => drag && place(e.clientX - drag.dx, e.clientY - drag.dy));
  const stop = () => { drag = null; head.style.cursor = 'grab'; };
  on(head, 'pointerup', stop);
  on(head, 'pointercancel', stop);
  on(window, 'resize', reclamp);

  let minimized = false;
  // auto is the call that expanded a minimised frame by ringing: if it
  // stops ringing unanswered, the frame goes back down.
  let auto = null;
  let ringing = 0;
  let counts = [0, 0];
  const renderBar = () => {
    const total = counts[0] + counts[1];
    title.textContent = ringing ? words.incomingCall : words.phone;
    badge.hidden = !minimized || !total;
    badge.textContent = total > 99 ? '99+' : total;
    label(badge, words.badge.replace('{missed}', counts[0]).replace('{unread}', counts[1]));
    reclamp();
  };
  const ids = new Set();
  const count = (v) => (Number.isInteger(v) && v > 0 ? v : 0);
  const follow = (d) => {
    const id = d.call && d.call.id;
    if (d.type === 'rc-call-ring-notify' && id) {
      ids.add(id);
      if (minimized) { setMinimized(false); auto = id; }
    } else if (/^rc-call-(start|end|failed)-notify$/.test(d.type) && ids.delete(id) && id === auto) {
      auto = null;
      if (d.type !== 'rc-call-start-notify') setMinimized(true);
    } else if (d.type === 'rc-badge-notify') counts = [count(d.missedCalls), count(d.unreadMessages)];
    else if (d.type === 'rc-login-status-notify' && !d.loggedIn) { ids.clear(); counts = [0, 0]; }
    ringing = ids.size;
    renderBar();
  };
  const setMinimized = (v) => {
    minimized = !!v;
    frame.style.height = minimized ? '0' : H;
    frame.style.width = minimized && compact ? '0' : W + 'px';
    minBtn.textContent = minimized ? '\u25a1' : '\u2013';
    label(minBtn, minimized ? words.expand : words.minimise);
    auto = null;
    renderBar();
  };
  const setClosed = (v) => {
    box.style.display = v ? 'none' : 'flex';
    if (!v) reclamp();
  };
  on(minBtn, 'click', () => setMinimized(!minimized));
  if (compact && !noMin) setMinimized(true);
  on(closeBtn, 'click', () => setClosed(true));

  // --- Messaging ---
  const pending = new Map();
  let queue = [];
  let n = 0;
  const newId = () => (crypto.randomUUID ? crypto.randomUUID() : `req-${Date.now().toString(36)}-${++n}`);
  const post = (msg) => frame.contentWindow.postMessage(msg, origin);
  const fail = (msg, code) => Object.assign(new Error(msg), { code });

  const send = (type, fields) => new Promise((resolve, reject) => {
    const requestId = newId();
    const msg = { type, requestId, ...fields };
    const t = setTimeout(() => {
      pending.delete(requestId);
      reject(fail('timeout', 'timeout'));
    }, 5000);
    pending.set(requestId, { resolve, reject, t });
    if (queue) queue.push(msg); else post(msg);
  });

  on(frame, 'load', () => {
    const q0 = queue || [];
    queue = null;
    q0.forEach(post);
  });

  on(window, 'message', (e) => {
    if (e.source !== frame.contentWindow || e.origin !== origin) return;
    const d = e.data;
    if (!d || typeof d.type !== 'string') return;
    if (d.type !== 'rc-adapter-message-response') return follow(d);
    const p = pending.get(d.responseId);
    if (!p) return;
    pending.delete(d.responseId);
    clearTimeout(p.t);
    const r = d.response || {};
    if (r.error) p.reject(fail(r.message || String(r.error), r.error));
    else p.resolve(r.data ?? r);
  });

  const show = () => { setClosed(false); setMinimized(false); };
  const api = {
    frame,
    clickToCall: (phoneNumber, toCall) => (show(), send('rc-adapter-new-call', { phoneNumber, toCall: !!toCall })),
    clickToSMS: (phoneNumber, text) => (show(), send('rc-adapter-new-sms', { phoneNumber, text })),
    controlCall: (callAction, callId, options) => send('rc-adapter-control-call', {
      callAction,
      ...(callId !== undefined && { callId }),
      ...(options !== undefined && { options }),
    }),
    navigateTo: (path) => send('rc-adapter-navigate-to', { path }),
    logoutUser: () => send('rc-adapter-logout'),
    setMinimized,
    setClosed,
    dispose() {
      ac.abort();
      box.remove();
      style.remove();
      for (const p of pending.values()) {
        clearTimeout(p.t);
        p.reject(fail('disposed', 'disposed'));
      }
      pending.clear();
      queue = [];
      delete window.RCAdapter;
    },
  };

  // Alt+Shift+P anywhere on the page takes the keyboard to the widget.
  frame.setAttribute('aria-keyshortcuts', 'Alt+Shift+P');
  on(document, 'keydown', (e) => {
    if (!e.defaultPrevented && e.altKey && e.shiftKey && e.code === 'KeyP') { e.preventDefault(); show(); frame.focus(); }
  });

  // --- tel: / sms: links ---
  on(document, 'click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest && e.target.closest('a[href^="tel:" i],a[href^="sms:" i]');
    if (!a) return;
    const href = a.getAttribute('href');
    const isTel = /^tel:/i.test(href);
    if (isTel ? noCall : noSms) return;
    e.preventDefault();
    const [raw, query = ''] = href.slice(4).replace(/^\/\//, '').split('?');
    let num = raw;
    try { num = decodeURIComponent(raw); } catch { /* keep raw */ }
    const req = isTel ? api.clickToCall(num, true) : api.clickToSMS(num, new URLSearchParams(query).get('body') || '');
    req.catch((err) => warn(`${isTel ? 'call' : 'sms'} failed: ${err.message}`));
  }, true);

  window.RCAdapter = api;
  const mount = () => document.body.append(style, box);
  if (document.body) mount(); else on(document, 'DOMContentLoaded', mount);
})();
