package e2e

import (
	"testing"
)

// TestAdapterFrame checks the frame the adapter builds: flags for its corner,
// z-index and minimise button; minimise, close and reopen; tel: and sms:
// links captured, with modifier clicks left to the browser.
func TestAdapterFrame(t *testing.T) {
	e := start(t)
	openDemo(t, e, "?defaultDirection=left&zIndex=1234&disableMinimize=1&prefix=cb")
	got := eval[map[string]any](t, e.ctx, `(() => {
		const box = document.getElementById('cb'), frame = document.getElementById('cb-adapter-frame');
		const min = box.querySelector('button[aria-label="Minimise"]');
		const r = box.getBoundingClientRect();
		return {left: r.left, right: innerWidth - r.right, z: getComputedStyle(box).zIndex,
			minHidden: getComputedStyle(min).display === 'none', frameIsAdapters: RCAdapter.frame === frame};
	})()`)
	if got["left"] != float64(16) || got["z"] != "1234" || got["minHidden"] != true || got["frameIsAdapters"] != true {
		t.Errorf("frame with flags: %v", got)
	}

	openDemo(t, e, "")
	states := eval[[]float64](t, e.ctx, `(() => {
		const box = document.getElementById('rc-widget'), frame = RCAdapter.frame;
		const h = () => box.getBoundingClientRect().height;
		const open = h();
		RCAdapter.setMinimized(true);
		const minimized = h();
		RCAdapter.setClosed(true);
		const closed = h();
		RCAdapter.setClosed(false);
		RCAdapter.setMinimized(false);
		return [open, minimized, closed, h(), frame.getBoundingClientRect().height];
	})()`)
	if !(states[0] > 400 && states[1] < 60 && states[2] == 0 && states[3] == states[0] && states[4] > 400) {
		t.Errorf("heights open/minimised/closed/reopened/frame = %v", states)
	}

	captured := eval[map[string]bool](t, e.ctx, `(() => {
		const result = {};
		const click = (href, init) => {
			const a = document.createElement('a');
			a.href = href; document.body.append(a);
			let prevented = false;
			const probe = ev => { prevented = ev.defaultPrevented; ev.preventDefault(); };
			addEventListener('click', probe);
			a.dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true, ...init}));
			removeEventListener('click', probe);
			a.remove();
			return prevented;
		};
		result.tel = click('tel:+1%20555%200100');
		result.sms = click('sms:102?body=hi');
		result.telWithCtrl = click('tel:102', {ctrlKey: true});
		result.http = click('https://example.com/');
		return result;
	})()`)
	want := map[string]bool{"tel": true, "sms": true, "telWithCtrl": false, "http": false}
	for k, v := range want {
		if captured[k] != v {
			t.Errorf("link %s captured = %t, want %t", k, captured[k], v)
		}
	}
}
