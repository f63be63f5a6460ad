// The widget page's first script, inline in its head: see early.js. The
// widget's script finds what it started in window.cbEarly.

import { startEarly } from './early.js';

window.cbEarly = startEarly(window, JSON.parse(document.getElementById('cb-config').textContent));
