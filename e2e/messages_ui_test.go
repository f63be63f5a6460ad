package e2e

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestMessagesPage: alice's host opens her composer with clickToSMS and she
// sends with Enter; bob's widget shows the conversation with an unread badge
// that clears when he opens it, and his reply from the conversation reaches
// alice. The host pages hear each message event once, also when the widget
// gets the events again.
func TestMessagesPage(t *testing.T) {
	alice := start(t)
	bob := alice.second(t)
	signedIn(t, alice, "alice@demo.test", "+16505550100*101")
	signedIn(t, bob, "bob@demo.test", "+16505550100*102")
	aliceFrame, bobFrame := frameCtx(t, alice), frameCtx(t, bob)

	if res := eval[any](t, alice.ctx, `RCAdapter.clickToSMS('+1 (650) 555-0102', 'Hello Bob')`); res != "ok" {
		t.Fatalf("clickToSMS: %v", res)
	}
	waitMessage(t, alice.ctx, "rc-route-changed-notify", `m.data.path === '/messages'`)
	waitFor[bool](t, aliceFrame, "the composer, prefilled", `!document.getElementById('cb-compose').hidden &&
		document.getElementById('cb-compose-to').value === '+1 (650) 555-0102' &&
		document.getElementById('cb-compose-text').value === 'Hello Bob' &&
		document.getElementById('cb-compose-kind').textContent.startsWith('SMS to')`)
	if err := chromedp.Do(within(t, aliceFrame, 15*time.Second),
		chromedp.Focus(chromedp.CSS(`#cb-compose-text`)), chromedp.KeyEvent("\r")); err != nil {
		t.Fatalf("send: %v", err)
	}
	waitFor[bool](t, aliceFrame, "alice's conversation with bob", `!document.getElementById('cb-thread').hidden &&
		[...document.querySelectorAll('#cb-thread-messages .bubble[data-direction="out"] .bubble__text')].some(b => b.textContent === 'Hello Bob')`)

	// Bob's widget: the message, unread, on the tab and in the list.
	in := waitMessage(t, bob.ctx, "rc-inbound-message-notify", `m.data.message.subject === 'Hello Bob'`)
	id, _ := in.Data["message"].(map[string]any)["id"].(string)
	if id == "" {
		t.Fatalf("inbound message %v", in.Data)
	}
	waitFor[bool](t, bobFrame, "the unread badge", `(() => {
		const b = document.getElementById('cb-messages-badge');
		return !b.hidden && b.textContent === '1';
	})()`)
	eval[any](t, bob.ctx, `RCAdapter.navigateTo('/messages')`)
	row := waitFor[map[string]string](t, bobFrame, "the conversation row", `(() => {
		const row = document.querySelector('#cb-conversations .conversation-row');
		return row && {unread: row.dataset.unread, name: row.querySelector('.conversation-row__name').textContent,
			preview: row.querySelector('.conversation-row__preview').textContent,
			badge: row.querySelector('.conversation-row__badge').textContent};
	})()`)
	if row["unread"] != "true" || row["name"] != "Alice Adams" || row["preview"] != "Hello Bob" || row["badge"] != "1" {
		t.Errorf("bob's conversation row %v", row)
	}
	maybeScreenshot(t, bob, "messages")

	// Opening it marks it read: the badges go, and the host hears the update.
	if err := chromedp.Do(within(t, bobFrame, 15*time.Second), chromedp.Click(chromedp.CSS(`#cb-conversations .conversation-row__open`))); err != nil {
		t.Fatalf("open the conversation: %v", err)
	}
	waitFor[bool](t, bobFrame, "the badge cleared", `document.getElementById('cb-messages-badge').hidden`)
	waitMessage(t, bob.ctx, "rc-message-updated-notify", `m.data.message.id === '`+id+`' && m.data.message.readStatus === 'Read'`)

	// Bob answers from the conversation; alice has it open, so it is read there.
	if err := chromedp.Do(within(t, bobFrame, 15*time.Second),
		chromedp.SendKeys(chromedp.CSS(`#cb-thread-text`), "Hi Alice"), chromedp.KeyEvent("\r")); err != nil {
		t.Fatalf("reply: %v", err)
	}
	reply := waitMessage(t, alice.ctx, "rc-inbound-message-notify", `m.data.message.subject === 'Hi Alice'`)
	replyID, _ := reply.Data["message"].(map[string]any)["id"].(string)
	waitFor[bool](t, aliceFrame, "the reply in alice's conversation", `[...document.querySelectorAll('#cb-thread-messages .bubble[data-direction="in"] .bubble__text')].some(b => b.textContent === 'Hi Alice')`)
	waitMessage(t, alice.ctx, "rc-message-updated-notify", `m.data.message.id === '`+replyID+`' && m.data.message.readStatus === 'Read'`)
	if badge := eval[bool](t, aliceFrame, `document.getElementById('cb-messages-badge').hidden`); !badge {
		t.Error("alice's badge shows a message she is reading")
	}
	maybeScreenshot(t, alice, "conversation")

	// Back to the list from the keyboard: the focus goes to the
	// conversation bob comes from, not to the page's body.
	if err := chromedp.Do(within(t, bobFrame, 15*time.Second),
		chromedp.Focus(chromedp.CSS(`#cb-thread-back`)), chromedp.KeyEvent("\r")); err != nil {
		t.Fatalf("back to the list: %v", err)
	}
	waitFor[bool](t, bobFrame, "the focus on the conversation", `document.getElementById('cb-thread').hidden &&
		document.activeElement?.matches('#cb-conversations .conversation-row__open')`)

	// The widget gets every message event bob's host heard once more, as a
	// replay of the event stream would bring them; the host hears none again.
	heard := eval[[]map[string]any](t, bob.ctx, `cbDemo.messages.map(m => m.data).filter(d =>
		d.type === 'rc-inbound-message-notify' || d.type === 'rc-message-updated-notify')`)
	if len(heard) < 3 {
		t.Fatalf("bob's host heard %d message events", len(heard))
	}
	replay, _ := json.Marshal(heard)
	eval[bool](t, bobFrame, `(() => {
		for (const event of `+string(replay)+`) cbEvents.receive(JSON.stringify(event));
		document.querySelector('#cb-tabs [data-nav="/history"]').click();
		return true;
	})()`)
	waitMessage(t, bob.ctx, "rc-route-changed-notify", `m.data.path === '/history'`)
	for who, e := range map[string]*env{"alice": alice, "bob": bob} {
		dups := eval[[]string](t, e.ctx, `(() => {
			const seen = new Set(), dups = [];
			for (const {data} of cbDemo.messages) {
				let key;
				if (data.type === 'rc-inbound-message-notify') key = 'in ' + data.message.id;
				else if (data.type === 'rc-message-updated-notify') key = 'up ' + data.message.id + ' ' + data.message.lastModifiedTime;
				else continue;
				if (seen.has(key)) dups.push(key);
				seen.add(key);
			}
			return dups;
		})()`)
		if len(dups) > 0 {
			t.Errorf("%s's host heard these message events twice: %v", who, dups)
		}
	}
	if n := eval[int](t, bob.ctx, `cbDemo.messages.filter(m => m.data.type === 'rc-inbound-message-notify' && m.data.message.id === '`+id+`').length`); n != 1 {
		t.Errorf("bob's host heard the inbound message %d times", n)
	}

	// With messaging off for the page, the composer does not open.
	openDemo(t, bob, "?disableMessages=1")
	waitMessage(t, bob.ctx, "rc-login-status-notify", `m.data.loggedIn === true && m.data.features.sms === false`)
	code := eval[string](t, bob.ctx, `RCAdapter.clickToSMS('101', 'Hi').then(() => 'sent', e => e.code || e.message)`)
	if code != "messagesOff" {
		t.Errorf("clickToSMS with disableMessages=1: %s", code)
	}
}
