package e2e

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"testing"

	"github.com/chromedp/chromedp"
)

// qualityName is the accessible name of a good call's quality indicator.
var qualityName = regexp.MustCompile(`^Call quality: Good \(\d+(\.\d)?% loss, \d+ ms jitter, \d+ ms round trip\)$`)

// audioChoices reads the audio settings as the settings page shows them.
type audioChoices struct {
	Microphones []option `json:"microphones"`
	Speakers    []option `json:"speakers"`
	Microphone  string   `json:"microphone"`
	Ringtone    string   `json:"ringtone"`
	Volume      string   `json:"volume"`
	SpeakerRow  bool     `json:"speakerRow"`
}

type option struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

const readAudioChoices = `(() => {
	const options = (id) => [...document.getElementById(id).options].map(o => ({value: o.value, label: o.textContent}));
	return {
		microphones: options('cb-audio-microphone'), speakers: options('cb-audio-speaker'),
		microphone: document.getElementById('cb-audio-microphone').value,
		ringtone: document.getElementById('cb-audio-ringtone').value,
		volume: document.getElementById('cb-audio-volume').value,
		speakerRow: !document.getElementById('cb-audio-speaker-row').hidden,
	};
})()`

// pick sets a control of the settings page as the user does, and fires
// the event the page listens to.
func pick(t *testing.T, frame context.Context, id, value, event string) {
	t.Helper()
	eval[bool](t, frame, fmt.Sprintf(`(() => {
		const el = document.getElementById(%s);
		el.value = %s;
		el.dispatchEvent(new Event(%s, {bubbles: true}));
		return true;
	})()`, quote(id), quote(value), quote(event)))
}

// senderTrack is the microphone track the first call of the widget sends:
// its label and device id.
const senderTrack = `(() => {
	const pc = window.cbPhone && cbPhone.pcs()[0];
	const track = pc && pc.getSenders().map(s => s.track).find(Boolean);
	return track ? {label: track.label, deviceId: track.getSettings().deviceId || ''} : null;
})()`

// TestAudioSettings: with Chromium's fake devices the settings page lists
// the microphones and speakers (with their names once allowed); the
// microphone, ringtone and volume picked are kept across a reload; the next
// call sends the microphone picked and shows its quality; a microphone
// picked during the call replaces the call's track, and a speaker plays the
// call; a microphone that is gone gives way to the default with a notice.
func TestAudioSettings(t *testing.T) {
	e := start(t)
	signedIn(t, e, "alice@demo.test", "+16505550100*101")
	frame := frameCtx(t, e)
	eval[any](t, e.ctx, `RCAdapter.navigateTo('/settings')`)
	waitFor[bool](t, frame, "the audio settings", `!document.getElementById('cb-audio').hidden &&
		document.getElementById('cb-audio-microphone').options.length > 0`)

	// The browser names the devices once the microphone is allowed.
	if eval[bool](t, frame, `!document.getElementById('cb-audio-allow').hidden`) {
		click(t, frame, "#cb-audio-allow")
	}
	choices := waitFor[audioChoices](t, frame, "the named microphones", `(() => {
		const c = `+readAudioChoices+`;
		return c.microphones.length > 2 && c.microphones.every(o => o.label !== '' && !/^Microphone \d/.test(o.label)) && c;
	})()`)
	t.Logf("microphones %v, speakers %v", choices.Microphones, choices.Speakers)
	if choices.Microphones[0].Value != "" || choices.Microphone != "" {
		t.Errorf("the default microphone is not first or not picked: %+v", choices)
	}
	if !choices.SpeakerRow || len(choices.Speakers) < 1 {
		t.Errorf("Chromium picks outputs, yet the speaker row shows %v with %v", choices.SpeakerRow, choices.Speakers)
	}

	// alice picks the last microphone, a ringtone and a volume.
	chosen := choices.Microphones[len(choices.Microphones)-1]
	pick(t, frame, "cb-audio-microphone", chosen.Value, "change")
	pick(t, frame, "cb-audio-ringtone", "chime", "change")
	pick(t, frame, "cb-audio-volume", "30", "input")
	waitFor[bool](t, frame, "the volume shown", `document.getElementById('cb-audio-volume-value').textContent === '30%'`)
	if dir := os.Getenv("CB_SCREENSHOT_DIR"); dir != "" {
		eval[bool](t, frame, `(document.getElementById('cb-audio').scrollIntoView(), true)`)
		widgetScreenshot(t, e, dir, "widget-settings-audio")
	}

	// A reload keeps them. The browser may give the devices new ids from one
	// load to the next: the microphone is the same one by its name.
	openDemo(t, e, "")
	waitLoggedIn(t, e, "+16505550100*101")
	frame = frameCtx(t, e)
	eval[any](t, e.ctx, `RCAdapter.navigateTo('/settings')`)
	kept := waitFor[audioChoices](t, frame, "the settings after a reload", `(() => {
		const c = `+readAudioChoices+`;
		return c.microphones.length > 2 && c.microphone !== '' && c;
	})()`)
	picked := option{Value: kept.Microphone}
	for _, o := range kept.Microphones {
		if o.Value == kept.Microphone {
			picked.Label = o.Label
		}
	}
	if picked.Label != chosen.Label || kept.Ringtone != "chime" || kept.Volume != "30" {
		t.Errorf("after a reload the settings are %+v (%s), want %s, chime, 30", kept, picked.Label, chosen.Label)
	}

	// The next call sends the microphone picked, and shows its quality.
	waitMessage(t, e.ctx, "rc-dialer-status-notify", `m.data.ready === true`)
	if res := eval[any](t, e.ctx, `RCAdapter.clickToCall('+15550101', true)`); res != "ok" {
		t.Fatalf("call the echo line: %v", res)
	}
	waitMessage(t, e.ctx, "rc-active-call-notify", `m.data.call.telephonyStatus === 'CallConnected'`)
	track := waitFor[map[string]string](t, frame, "the call's microphone track", senderTrack)
	if track["deviceId"] != picked.Value || track["label"] != picked.Label {
		t.Errorf("the call sends %v, want %s (%s)", track, picked.Label, picked.Value)
	}
	// A reading taken while a busy machine starved the call may say Fair or
	// Poor for a moment: the test waits for a good one, as over an idle
	// loopback every reading is.
	quality := waitFor[map[string]string](t, frame, "the call's quality", `(() => {
		const q = document.getElementById('cb-call-quality');
		return !q.hidden && q.dataset.level === 'good' && {level: q.dataset.level, label: document.getElementById('cb-call-quality-label').textContent,
			name: q.getAttribute('aria-label'), role: q.getAttribute('role')};
	})()`)
	if quality["level"] != "good" || quality["label"] != "Good" || quality["role"] != "img" ||
		!qualityName.MatchString(quality["name"]) {
		t.Errorf("the quality on the echo line over loopback shows %v", quality)
	}
	maybeScreenshot(t, e, "call-quality")

	// alice picks another microphone during the call: the call sends it at once.
	other := kept.Microphones[1]
	if other.Value == picked.Value {
		other = kept.Microphones[2]
	}
	eval[any](t, e.ctx, `RCAdapter.navigateTo('/settings')`)
	pick(t, frame, "cb-audio-microphone", other.Value, "change")
	waitFor[bool](t, frame, "the call sending the other microphone", fmt.Sprintf(`(() => {
		const t = %s;
		return t && t.deviceId === %s && t.label === %s;
	})()`, senderTrack, quote(other.Value), quote(other.Label)))

	// And a speaker: the call plays on it.
	speaker := kept.Speakers[len(kept.Speakers)-1]
	pick(t, frame, "cb-audio-speaker", speaker.Value, "change")
	waitFor[bool](t, frame, "the call playing on the speaker picked",
		`document.getElementById('cb-remote-audio').sinkId === `+quote(speaker.Value))
	controlCall(t, e, "hangup", "")
	waitMessage(t, e.ctx, "rc-call-end-notify", "")

	// A microphone picked that is gone: the default serves, and the page says so.
	eval[bool](t, frame, `(() => {
		const stored = JSON.parse(localStorage.getItem('cb-audio-settings'));
		stored.users[0].settings.microphone = 'a-microphone-unplugged';
		stored.users[0].settings.microphoneLabel = 'Unplugged headset';
		localStorage.setItem('cb-audio-settings', JSON.stringify(stored));
		return true;
	})()`)
	openDemo(t, e, "")
	waitLoggedIn(t, e, "+16505550100*101")
	frame = frameCtx(t, e)
	eval[any](t, e.ctx, `RCAdapter.navigateTo('/settings')`)
	waitFor[bool](t, frame, "the notice of the microphone gone", `document.getElementById('cb-audio-note').textContent.includes('no longer available') &&
		document.getElementById('cb-audio-microphone').value === ''`)
	if kept := eval[audioChoices](t, frame, readAudioChoices); kept.Ringtone != "chime" || kept.Volume != "30" {
		t.Errorf("the fallback changed more than the microphone: %+v", kept)
	}
}

// TestSignInFollowsDarkTheme: the sign-in window of a dark widget is dark.
func TestSignInFollowsDarkTheme(t *testing.T) {
	e := start(t)
	openDemo(t, e, "?theme=dark")
	click(t, frameCtx(t, e), "#cb-sign-in")
	popup := popupCtx(t, e, e.WidgetURL+"/oauth/authorize")
	look := waitFor[map[string]string](t, popup, "the sign-in page", `document.readyState === 'complete' && document.getElementById('login-form') && {
		theme: document.documentElement.dataset.theme || '', background: getComputedStyle(document.body).backgroundColor,
		scheme: getComputedStyle(document.documentElement).colorScheme}`)
	if look["theme"] != "dark" || look["background"] != "rgb(14, 16, 20)" || look["scheme"] != "dark" {
		t.Errorf("the sign-in page of a dark widget: %v", look)
	}
	if dir := os.Getenv("CB_SCREENSHOT_DIR"); dir != "" {
		saveScreenshot(t, &env{ctx: popup}, dir, "sign-in-dark", chromedp.CaptureScreenshot())
	}
	fillSignIn(t, popup, "alice@demo.test", "demo")
	waitLoggedIn(t, e, "+16505550100*101")
}
