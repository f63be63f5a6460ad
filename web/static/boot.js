// The widget page's first script, inline in its head: see early.js. The
// widget's script finds what it started in window.cbEarly.

import { startEarly } from './early.js';

// The mark lets a load's timeline (bench/browser) say when this ran.
performance.mark('cb-boot');
window.cbEarly = startEarly(window, JSON.parse(document.getElementById('cb-config').textContent));
