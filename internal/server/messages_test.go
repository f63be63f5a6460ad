package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/messaging"
)

// The API paths of the caller's messages.
const (
	smsPath   = "/account/~/extension/~/sms"
	pagerPath = "/account/~/extension/~/company-pager"
	storePath = "/account/~/extension/~/message-store"
)

// Numbers of the demo account.
const (
	aliceNumber = "+16505550101"
	bobNumber   = "+16505550102"
	mainNumber  = "+16505550100"
)

func init() {
	// The examples of docs/api-messages.md read and change $MESSAGE_ID, an
	// SMS Alice sent to the echo line.
	docsSeeders = append(docsSeeders, func(t *testing.T, srv *instance, admin *platform) map[string]string {
		m := sendSMS(t, admin, aliceNumber, "+15550101", "For the docs")
		return map[string]string{"MESSAGE_ID": m["id"].(string)}
	})
}

// sendSMS sends an SMS through the API; it must succeed.
func sendSMS(t *testing.T, p *platform, from, to, text string) map[string]any {
	t.Helper()
	r := p.call("POST", smsPath, smsBody(from, to, text))
	if r.StatusCode != http.StatusOK {
		t.Fatalf("send SMS to %s: %d %s", to, r.StatusCode, r.body)
	}
	return r.json(t)
}

func smsBody(from, to, text string) string {
	b, _ := json.Marshal(map[string]any{"from": map[string]string{"phoneNumber": from},
		"to": []map[string]string{{"phoneNumber": to}}, "text": text})
	return string(b)
}

// message returns one message of the caller's store; it must exist.
func message(t *testing.T, p *platform, id string) map[string]any {
	t.Helper()
	return p.get(storePath + "/" + id)
}

// waitMessage polls one of the caller's messages until ok holds.
func waitMessage(t *testing.T, p *platform, id, what string, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		m := message(t, p, id)
		if ok(m) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s never %s: %v", id, what, m)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func hasStatus(status string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["messageStatus"] == status }
}

// storeRecords lists the caller's message store with a query.
func storeRecords(t *testing.T, p *platform, query string) []map[string]any {
	t.Helper()
	return records(t, p.get(storePath+query))
}

// inboundFrom finds the caller's inbound message from a number with a text.
func inboundFrom(t *testing.T, p *platform, from, text string) map[string]any {
	t.Helper()
	for _, m := range storeRecords(t, p, "?direction=Inbound&perPage=1000") {
		f, _ := m["from"].(map[string]any)
		if (f["phoneNumber"] == from || f["extensionNumber"] == from) && m["subject"] == text {
			return m
		}
	}
	t.Fatalf("no inbound message from %s saying %q", from, text)
	return nil
}

func party(m map[string]any, key string) map[string]any {
	p, _ := m[key].(map[string]any)
	return p
}

func toParties(m map[string]any) []map[string]any {
	raw, _ := m["to"].([]any)
	out := make([]map[string]any, len(raw))
	for i, r := range raw {
		out[i], _ = r.(map[string]any)
	}
	return out
}

// messageEvents counts a tab's message events per id until a fence: the
// event stream is in order, so every event published before the fence's
// has arrived when it does.
type messageEvents struct {
	updated map[string][]string // id → lastModifiedTime of each rc-message-updated-notify
	inbound map[string]int      // id → rc-inbound-message-notify count
}

func collectUntil(t *testing.T, w *widgetTab, fence func(map[string]any) bool) messageEvents {
	t.Helper()
	got := messageEvents{updated: map[string][]string{}, inbound: map[string]int{}}
	w.waitFor(t, "the fence event", func(ev map[string]any) bool {
		m, _ := ev["message"].(map[string]any)
		id, _ := m["id"].(string)
		switch ev["type"] {
		case "rc-message-updated-notify":
			got.updated[id] = append(got.updated[id], m["lastModifiedTime"].(string))
		case "rc-inbound-message-notify":
			got.inbound[id]++
		}
		return fence(ev)
	})
	return got
}

// updatedTo matches the rc-message-updated-notify of a message reaching a
// read status.
func updatedTo(id, readStatus string) func(map[string]any) bool {
	return func(ev map[string]any) bool {
		m, _ := ev["message"].(map[string]any)
		return ev["type"] == "rc-message-updated-notify" && m["id"] == id && m["readStatus"] == readStatus
	}
}

// TestSMSBetweenExtensions is Alice texting Bob's direct number: her copy
// is Delivered, Bob's Inbound copy Unread and Received, both in one
// conversation, and Bob's widget hears of it once.
func TestSMSBetweenExtensions(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000})
	alice, bob := newPlatform(t, srv, "alice@demo.test"), newPlatform(t, srv, "bob@demo.test")
	aliceTab, bobTab := openTab(t, srv, "alice@demo.test"), openTab(t, srv, "bob@demo.test")

	sent := sendSMS(t, alice, "(650) 555-0101", "+1 650 555 0102", "Hi Bob")
	id, _ := sent["id"].(string)
	if !isDigitString(id) || sent["type"] != "SMS" || sent["direction"] != "Outbound" || sent["messageStatus"] != "Delivered" ||
		sent["readStatus"] != "Read" || sent["availability"] != "Alive" || sent["subject"] != "Hi Bob" ||
		party(sent, "from")["phoneNumber"] != aliceNumber || party(sent, "from")["name"] != "Alice Adams" {
		t.Fatalf("Alice's copy %v", sent)
	}
	if to := toParties(sent); len(to) != 1 || to[0]["phoneNumber"] != bobNumber || to[0]["name"] != "Bob Brown" {
		t.Fatalf("to %v", sent["to"])
	}
	if !strings.HasSuffix(sent["uri"].(string), "/message-store/"+id) || !isDigitString(sent["conversationId"].(string)) {
		t.Fatalf("uri %v conversationId %v", sent["uri"], sent["conversationId"])
	}
	if got := message(t, alice, id); got["messageStatus"] != "Delivered" || got["lastModifiedTime"] != sent["lastModifiedTime"] {
		t.Fatalf("Alice's stored copy %v", got)
	}

	inbox := storeRecords(t, bob, "")
	if len(inbox) != 1 {
		t.Fatalf("Bob's message store %v", inbox)
	}
	in := inbox[0]
	if in["direction"] != "Inbound" || in["messageStatus"] != "Received" || in["readStatus"] != "Unread" ||
		in["subject"] != "Hi Bob" || in["conversationId"] != sent["conversationId"] || in["id"] == id ||
		party(in, "from")["phoneNumber"] != aliceNumber {
		t.Fatalf("Bob's copy %v", in)
	}
	bobID := in["id"].(string)

	// Bob reads it: a new version, which is the fence of his events.
	read := bob.call("PUT", storePath+"/"+bobID, `{"readStatus": "Read"}`)
	if read.StatusCode != http.StatusOK || read.json(t)["readStatus"] != "Read" || read.json(t)["lastModifiedTime"] == in["lastModifiedTime"] {
		t.Fatalf("PUT readStatus: %d %s", read.StatusCode, read.body)
	}
	ev := collectUntil(t, bobTab, updatedTo(bobID, "Read"))
	if ev.inbound[bobID] != 1 || len(ev.updated[bobID]) != 2 || ev.updated[bobID][0] != in["lastModifiedTime"] {
		t.Fatalf("Bob's widget: inbound %v, updated %v", ev.inbound, ev.updated)
	}
	if len(ev.inbound) != 1 || len(ev.updated) != 1 {
		t.Fatalf("Bob's widget heard of other messages: %v %v", ev.inbound, ev.updated)
	}
	// Reading it again changes nothing and tells nobody; Alice's next SMS
	// is the fence.
	again := bob.call("PUT", storePath+"/"+bobID, `{"readStatus": "read"}`)
	if again.StatusCode != http.StatusOK || again.json(t)["lastModifiedTime"] != read.json(t)["lastModifiedTime"] {
		t.Fatalf("PUT the same readStatus: %d %s", again.StatusCode, again.body)
	}
	second := sendSMS(t, alice, aliceNumber, bobNumber, "Still there?")
	fence := func(ev map[string]any) bool {
		m, _ := ev["message"].(map[string]any)
		return ev["type"] == "rc-inbound-message-notify" && m["subject"] == "Still there?"
	}
	if ev := collectUntil(t, bobTab, fence); len(ev.updated[bobID]) != 0 || len(ev.inbound) != 1 {
		t.Fatalf("after the second SMS Bob's widget heard %v %v", ev.updated, ev.inbound)
	}

	// Alice's widget heard her copies go Queued, Sent, Delivered: one
	// event per version, each later than the one before.
	ev = collectUntil(t, aliceTab, func(ev map[string]any) bool {
		m, _ := ev["message"].(map[string]any)
		return m["id"] == second["id"] && m["messageStatus"] == "Delivered"
	})
	for _, sid := range []string{id, second["id"].(string)} {
		versions := ev.updated[sid]
		if len(versions) != 3 || !(versions[0] < versions[1] && versions[1] < versions[2]) || ev.inbound[sid] != 0 {
			t.Fatalf("Alice's widget, message %s: versions %v, inbound %d", sid, versions, ev.inbound[sid])
		}
	}
	if r := message(t, alice, second["id"].(string)); r["conversationId"] != sent["conversationId"] {
		t.Fatalf("a second SMS to Bob is in another conversation: %v", r)
	}
}

func isDigitString(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// TestMessageEventsReplay reconnects Bob's event stream with Last-Event-ID
// as browsers do: what he missed comes once, what he had does not come again.
func TestMessageEventsReplay(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000})
	alice := newPlatform(t, srv, "alice@demo.test")
	bobTab := openTab(t, srv, "bob@demo.test")

	first := openStream(t, bobTab, "")
	sendSMS(t, alice, aliceNumber, bobNumber, "one")
	got := first.until(t, func(e sseEvent) bool { return e.inbound("one") })
	lastID := got[len(got)-1].id
	first.close()

	sendSMS(t, alice, aliceNumber, bobNumber, "two")
	sendSMS(t, alice, aliceNumber, bobNumber, "three")
	replayed := openStream(t, bobTab, lastID).until(t, func(e sseEvent) bool { return e.inbound("three") })
	count := map[string]int{}
	for _, e := range replayed {
		if e.typ == "rc-inbound-message-notify" {
			count[e.subject]++
		}
	}
	if count["one"] != 0 || count["two"] != 1 || count["three"] != 1 {
		t.Fatalf("replay after %s: inbound events %v", lastID, count)
	}
}

// sseEvent is one event of a stream, with its id.
type sseEvent struct {
	id, typ, subject string
}

func (e sseEvent) inbound(subject string) bool {
	return e.typ == "rc-inbound-message-notify" && e.subject == subject
}

// sseStream is an event stream of a widget session, read event by event.
type sseStream struct {
	events chan sseEvent
	close  func()
}

// openStream opens a new event stream of the tab's session, sending lastID
// as Last-Event-ID when set.
func openStream(t *testing.T, w *widgetTab, lastID string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", w.srv.WidgetURL+"/widget/events?clientId=demo", nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := (&http.Client{Jar: w.c.Jar, Transport: w.c.Transport}).Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("event stream: %v %v", err, resp)
	}
	s := &sseStream{events: make(chan sseEvent, 256)}
	done := make(chan struct{})
	s.close = func() { cancel(); <-done }
	t.Cleanup(s.close)
	go func() {
		defer close(done)
		defer close(s.events)
		defer resp.Body.Close()
		var cur sseEvent
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Text()
			if id, ok := strings.CutPrefix(line, "id: "); ok {
				cur.id = id
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				var m struct {
					Type    string `json:"type"`
					Message struct {
						Subject string `json:"subject"`
					} `json:"message"`
				}
				json.Unmarshal([]byte(data), &m)
				cur.typ, cur.subject = m.Type, m.Message.Subject
			}
			if line == "" && cur.typ != "" {
				select {
				case s.events <- cur:
				case <-ctx.Done():
					return
				}
				cur = sseEvent{}
			}
		}
	}()
	return s
}

// until reads events until one matches and returns all it read.
func (s *sseStream) until(t *testing.T, match func(sseEvent) bool) []sseEvent {
	t.Helper()
	var out []sseEvent
	deadline := time.After(15 * time.Second)
	for {
		select {
		case e, ok := <-s.events:
			if !ok {
				t.Fatalf("the stream ended; got %v", out)
			}
			out = append(out, e)
			if match(e) {
				return out
			}
		case <-deadline:
			t.Fatalf("no awaited event; got %v", out)
		}
	}
}

// TestCompanyPager sends a pager message to two extensions: each gets its
// copy, the sender's is Delivered.
func TestCompanyPager(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000})
	alice, bob := newPlatform(t, srv, "alice@demo.test"), newPlatform(t, srv, "bob@demo.test")
	carol := newPlatform(t, srv, "carol@demo.test")

	r := alice.call("POST", pagerPath, `{"from": {"extensionNumber": "101"}, "to": [{"extensionNumber": "102"}, {"extensionNumber": "103"}, {"extensionNumber": "102"}], "text": "Stand-up in 5"}`)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("pager: %d %s", r.StatusCode, r.body)
	}
	sent := r.json(t)
	to := toParties(sent)
	if sent["type"] != "Pager" || sent["messageStatus"] != "Delivered" || sent["pgToDepartment"] != false ||
		party(sent, "from")["extensionNumber"] != "101" || len(to) != 2 || to[0]["extensionNumber"] != "102" || to[1]["name"] != "Carol Chen" {
		t.Fatalf("Alice's pager copy %v", sent)
	}
	for _, p := range []*platform{bob, carol} {
		in := inboundFrom(t, p, "101", "Stand-up in 5")
		if in["type"] != "Pager" || in["readStatus"] != "Unread" || in["messageStatus"] != "Received" || in["conversationId"] != sent["conversationId"] {
			t.Fatalf("recipient's copy %v", in)
		}
	}
	if got := storeRecords(t, bob, "?messageType=Pager"); len(got) != 1 {
		t.Fatalf("Bob has %d pager messages", len(got))
	}
	// The same parties are the same conversation, whoever writes.
	reply := bob.call("POST", pagerPath, `{"to": [{"extensionNumber": "101"}, {"extensionNumber": "103"}], "text": "Coming"}`)
	if reply.StatusCode != http.StatusOK || reply.json(t)["conversationId"] != sent["conversationId"] {
		t.Fatalf("Bob's reply to all: %d %s", reply.StatusCode, reply.body)
	}

	for _, tt := range []struct{ name, body, param string }{
		{"unknown extension", `{"to": [{"extensionNumber": "199"}], "text": "x"}`, "to"},
		{"no recipient", `{"to": [], "text": "x"}`, "to"},
		{"phone number", `{"to": [{"phoneNumber": "+16505550102"}], "text": "x"}`, "to"},
		{"not an extension number", `{"to": [{"extensionNumber": "1"}], "text": "x"}`, "to"},
		{"someone else's from", `{"from": {"extensionNumber": "102"}, "to": [{"extensionNumber": "103"}], "text": "x"}`, "from"},
		{"empty text", `{"to": [{"extensionNumber": "102"}], "text": "  "}`, "text"},
		{"no text", `{"to": [{"extensionNumber": "102"}]}`, "text"},
		{"unknown field", `{"to": [{"extensionNumber": "102"}], "text": "x", "priority": "High"}`, "priority"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantAPIError(t, alice.call("POST", pagerPath, tt.body), http.StatusBadRequest, "InvalidParameter", tt.param)
		})
	}
}

// TestSMSToTestNumbers: each test number does what docs/api-messages.md
// says, replies arriving as inbound SMS of the sender.
func TestSMSToTestNumbers(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000})
	alice := newPlatform(t, srv, "alice@demo.test")

	echo := sendSMS(t, alice, aliceNumber, "+1 555 0101", "Echo me")
	if echo["messageStatus"] != "Delivered" || toParties(echo)[0]["phoneNumber"] != "+15550101" || toParties(echo)[0]["name"] != "Echo line" {
		t.Fatalf("SMS to the echo line %v", echo)
	}
	reply := inboundFrom(t, alice, "+15550101", "Echo me")
	if reply["readStatus"] != "Unread" || reply["messageStatus"] != "Received" || reply["conversationId"] != echo["conversationId"] ||
		toParties(reply)[0]["phoneNumber"] != aliceNumber {
		t.Fatalf("the echo line's reply %v", reply)
	}
	tone := sendSMS(t, alice, mainNumber, "+15550100", "Anyone?")
	if tone["messageStatus"] != "Delivered" || party(tone, "from")["phoneNumber"] != mainNumber {
		t.Fatalf("SMS to the tone line from the main number %v", tone)
	}
	inboundFrom(t, alice, "+15550100", "Test line: message received.")

	for _, tt := range []struct{ number, status, code string }{
		{"+15550102", "Delivered", ""},
		{"+15550103", "DeliveryFailed", "Unavailable"},
		{"+15550104", "DeliveryFailed", "InvalidNumber"},
		{"+15550105", "DeliveryFailed", "Rejected"},
		{"+15550106", "DeliveryFailed", "InsufficientFunds"},
		{"+15550107", "Sent", ""},
		{"+15550150", "DeliveryFailed", "InvalidNumber"},
	} {
		m := sendSMS(t, alice, aliceNumber, tt.number, "to "+tt.number)
		code, _ := m["deliveryErrorCode"].(string)
		if m["messageStatus"] != tt.status || code != tt.code || (code != "" && m["deliveryErrorReason"] == "") {
			t.Errorf("SMS to %s: %v", tt.number, m)
		}
	}
	if n := len(storeRecords(t, alice, "?direction=Inbound")); n != 2 {
		t.Errorf("Alice got %d replies, want the echo's and the tone line's", n)
	}
}

// smsProvider is a webhook receiver standing in for the SMS provider. It
// verifies each request's signature and fails the first fail[to] requests
// for a number.
type smsProvider struct {
	t      *testing.T
	secret []byte
	mu     sync.Mutex
	fail   map[string]int
	got    []messaging.OutboundSMS
	signed []signedRequest // every request with a good signature, as it came
	tries  map[string]int
	block  chan struct{} // while open, requests wait for it or their cancellation
}

func (p *smsProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := messaging.VerifySignature(p.secret, messaging.Outbound, r.Header, body, time.Now()); err != nil {
		p.t.Errorf("provider got a request with a bad signature: %v", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var sms messaging.OutboundSMS
	if err := json.Unmarshal(body, &sms); err != nil || r.Header.Get("Content-Type") != "application/json" {
		p.t.Errorf("provider got %q (%v)", body, err)
	}
	p.mu.Lock()
	p.signed = append(p.signed, signedRequest{header: r.Header.Clone(), body: body})
	p.tries[sms.To]++
	failing := p.tries[sms.To] <= p.fail[sms.To]
	block := p.block
	if !failing && block == nil {
		p.got = append(p.got, sms)
	}
	p.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-r.Context().Done():
		}
		http.Error(w, "stopped", http.StatusServiceUnavailable)
		return
	}
	if failing {
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// signedRequest is a webhook request as it was sent.
type signedRequest struct {
	header http.Header
	body   []byte
}

func (p *smsProvider) requests() []signedRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]signedRequest(nil), p.signed...)
}

func (p *smsProvider) received() []messaging.OutboundSMS {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]messaging.OutboundSMS(nil), p.got...)
}

func newProvider(t *testing.T, secret string) (*smsProvider, *httptest.Server) {
	p := &smsProvider{t: t, secret: []byte(secret), fail: map[string]int{}, tries: map[string]int{}}
	ts := httptest.NewServer(p)
	t.Cleanup(ts.Close)
	return p, ts
}

// secretFile writes a webhook secret for the server to read.
func writeSecret(t *testing.T, secret string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sms.secret")
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const testSecret = "a shared secret for the SMS provider"

// TestSMSThroughProvider sends SMS to numbers outside the server: they go
// to the provider's webhook, signed, and are Sent once it takes them,
// after retries when it fails for a while, or DeliveryFailed when it keeps
// failing.
func TestSMSThroughProvider(t *testing.T) {
	t.Parallel()
	provider, ts := newProvider(t, testSecret)
	provider.fail["+14155550124"] = 2
	provider.fail["+14155550125"] = 1000
	srv := startServer(t, Config{APIRateLimit: 10000, SMSWebhookURL: ts.URL + "/sms",
		SMSWebhookSecretFile: writeSecret(t, testSecret), SMSRetryDelay: 10 * time.Millisecond})
	alice := newPlatform(t, srv, "alice@demo.test")

	ok := sendSMS(t, alice, aliceNumber, "+1 (415) 555-0123", "Hello outside")
	if ok["messageStatus"] != "Queued" && ok["messageStatus"] != "Sent" {
		t.Fatalf("SMS for the provider answered %v", ok)
	}
	sent := waitMessage(t, alice, ok["id"].(string), "Sent", hasStatus("Sent"))
	if num(sent["smsSendingAttemptsCount"]) != 1 {
		t.Fatalf("after one attempt %v", sent)
	}
	got := provider.received()
	if len(got) != 1 || got[0] != (messaging.OutboundSMS{ID: ok["id"].(string), From: aliceNumber, To: "+14155550123",
		Text: "Hello outside", CreationTime: ok["creationTime"].(string)}) {
		t.Fatalf("the provider received %+v", got)
	}

	retried := sendSMS(t, alice, aliceNumber, "+14155550124", "Third time lucky")
	if m := waitMessage(t, alice, retried["id"].(string), "Sent", hasStatus("Sent")); num(m["smsSendingAttemptsCount"]) != 3 {
		t.Fatalf("after two failures %v", m)
	}
	failed := sendSMS(t, alice, aliceNumber, "+14155550125", "Never")
	m := waitMessage(t, alice, failed["id"].(string), "DeliveryFailed", hasStatus("DeliveryFailed"))
	if m["deliveryErrorCode"] != "ProviderError" || num(m["smsSendingAttemptsCount"]) != messaging.DefaultMaxAttempts ||
		!strings.Contains(m["deliveryErrorReason"].(string), "503") {
		t.Fatalf("after the provider kept failing %v", m)
	}
	if len(provider.received()) != 2 {
		t.Fatalf("the provider took %d messages, want 2", len(provider.received()))
	}
}

// TestSMSWithoutProvider: with no webhook, SMS to numbers outside fail with
// NoRoute, and the inbound webhook is off.
func TestSMSWithoutProvider(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000})
	alice := newPlatform(t, srv, "alice@demo.test")
	m := sendSMS(t, alice, aliceNumber, "+14155550123", "Nowhere to go")
	if m["messageStatus"] != "DeliveryFailed" || m["deliveryErrorCode"] != "NoRoute" || m["deliveryErrorReason"] == "" {
		t.Fatalf("without a provider %v", m)
	}
	if stored := message(t, alice, m["id"].(string)); stored["lastModifiedTime"] != m["lastModifiedTime"] {
		t.Fatalf("the answer %v is not the stored message %v", m, stored)
	}
	body := []byte(`{"id":"p-1","from":"+14155550123","to":"+16505550101","text":"hi"}`)
	r := postInbound(t, srv, body, messaging.Sign([]byte(testSecret), messaging.Inbound, time.Now(), body))
	wantAPIError(t, r, http.StatusServiceUnavailable, "InboundSMSOff", "")
}

// postInbound calls the inbound webhook as the provider does, with the
// signature headers given.
func postInbound(t *testing.T, srv *instance, body []byte, signature http.Header) response {
	t.Helper()
	h := []string{"Content-Type", "application/json"}
	for k := range signature {
		h = append(h, k, signature.Get(k))
	}
	return do(t, browser(), "POST", srv.WidgetURL+"/webhooks/sms/inbound", bytes.NewReader(body), h...)
}

// TestInboundSMSWebhook: the provider's signed requests become inbound SMS
// of the extension whose number they are for, once per provider id;
// unsigned, wrongly signed and old requests are refused.
func TestInboundSMSWebhook(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000, SMSWebhookSecretFile: writeSecret(t, testSecret)})
	alice, bob := newPlatform(t, srv, "alice@demo.test"), newPlatform(t, srv, "bob@demo.test")
	bobTab := openTab(t, srv, "bob@demo.test")
	secret := []byte(testSecret)
	inbound := func(id, from, to, text string) []byte {
		b, _ := json.Marshal(messaging.InboundSMS{ID: id, From: from, To: to, Text: text})
		return b
	}

	body := inbound("SM-1", "+14155550123", "+1 650 555 0102", "From outside")
	r := postInbound(t, srv, body, messaging.Sign(secret, messaging.Inbound, time.Now(), body))
	if r.StatusCode != http.StatusOK || r.json(t)["duplicate"] != false {
		t.Fatalf("inbound SMS: %d %s", r.StatusCode, r.body)
	}
	id := r.json(t)["id"].(string)
	m := message(t, bob, id)
	if m["direction"] != "Inbound" || m["readStatus"] != "Unread" || m["messageStatus"] != "Received" ||
		party(m, "from")["phoneNumber"] != "+14155550123" || toParties(m)[0]["phoneNumber"] != bobNumber || m["subject"] != "From outside" {
		t.Fatalf("Bob's inbound SMS %v", m)
	}

	// The provider repeats itself (it did not see the answer): the same
	// message, nothing new.
	r = postInbound(t, srv, body, messaging.Sign(secret, messaging.Inbound, time.Now().Add(-time.Minute), body))
	if r.StatusCode != http.StatusOK || r.json(t)["id"] != id || r.json(t)["duplicate"] != true {
		t.Fatalf("repeated inbound SMS: %d %s", r.StatusCode, r.body)
	}
	if n := len(storeRecords(t, bob, "")); n != 1 {
		t.Fatalf("Bob has %d messages after a repeat", n)
	}
	fence := bob.call("PUT", storePath+"/"+id, `{"readStatus": "Read"}`)
	if fence.StatusCode != http.StatusOK {
		t.Fatalf("PUT: %d %s", fence.StatusCode, fence.body)
	}
	if ev := collectUntil(t, bobTab, updatedTo(id, "Read")); ev.inbound[id] != 1 || len(ev.updated[id]) != 2 {
		t.Fatalf("Bob's widget heard %v %v", ev.inbound, ev.updated)
	}

	// The main number reaches the administrator, Alice.
	body = inbound("SM-2", "4155550123", "+16505550100", "To the company")
	if r := postInbound(t, srv, body, messaging.Sign(secret, messaging.Inbound, time.Now(), body)); r.StatusCode != http.StatusOK {
		t.Fatalf("inbound SMS to the main number: %d %s", r.StatusCode, r.body)
	}
	inboundFrom(t, alice, "+14155550123", "To the company")

	good := inbound("SM-3", "+14155550123", bobNumber, "x")
	signed := messaging.Sign(secret, messaging.Inbound, time.Now(), good)
	for _, tt := range []struct {
		name      string
		signature http.Header
		body      []byte
	}{
		{"no signature", nil, good},
		{"wrong secret", messaging.Sign([]byte("another secret of the same size"), messaging.Inbound, time.Now(), good), good},
		{"signed another body", messaging.Sign(secret, messaging.Inbound, time.Now(), body), good},
		{"too old", messaging.Sign(secret, messaging.Inbound, time.Now().Add(-10*time.Minute), good), good},
		{"from the future", messaging.Sign(secret, messaging.Inbound, time.Now().Add(10*time.Minute), good), good},
		{"no timestamp", http.Header{messaging.SignatureHeader: signed[messaging.SignatureHeader]}, good},
		{"no signature, a timestamp", http.Header{messaging.TimestampHeader: signed[messaging.TimestampHeader]}, good},
		{"garbage", http.Header{messaging.TimestampHeader: {"abc"}, messaging.SignatureHeader: {"zz"}}, good},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantAPIError(t, postInbound(t, srv, tt.body, tt.signature), http.StatusUnauthorized, "InvalidSignature", "")
		})
	}
	for _, tt := range []struct{ body, param string }{
		{`{"id":"SM-4","from":"+14155550123","to":"+14155550199","text":"x"}`, "to"},
		{`{"id":"SM-4","from":"+14155550123","to":"102","text":"x"}`, "to"},
		{`{"id":"SM-4","from":"nobody","to":"+16505550102","text":"x"}`, "from"},
		{`{"id":"","from":"+14155550123","to":"+16505550102","text":"x"}`, "id"},
		{`{"id":"SM-4","from":"+14155550123","to":"+16505550102","text":""}`, "text"},
		{`{"id":"SM-4","from":"+14155550123","to":"+16505550102","text":"x","media":[]}`, "media"},
	} {
		body := []byte(tt.body)
		wantAPIError(t, postInbound(t, srv, body, messaging.Sign(secret, messaging.Inbound, time.Now(), body)), http.StatusBadRequest, "InvalidParameter", tt.param)
	}
	if n := len(storeRecords(t, bob, "")); n != 1 {
		t.Fatalf("refused requests left messages: Bob has %d", n)
	}
}

// TestMessageStoreAPI reads and changes the message store through its
// filters, paging, permissions and errors.
func TestMessageStoreAPI(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000})
	alice, bob := newPlatform(t, srv, "alice@demo.test"), newPlatform(t, srv, "bob@demo.test")
	bobExt := bob.extensionID()

	a1 := sendSMS(t, alice, aliceNumber, bobNumber, "first")
	sendSMS(t, alice, aliceNumber, bobNumber, "second")
	sendSMS(t, alice, aliceNumber, "+15550101", "echo")
	p := alice.call("POST", pagerPath, `{"to": [{"extensionNumber": "102"}], "text": "page"}`)
	if p.StatusCode != http.StatusOK {
		t.Fatalf("pager: %d %s", p.StatusCode, p.body)
	}

	all := storeRecords(t, alice, "")
	if len(all) != 5 { // three SMS, the echo's reply, the pager message
		t.Fatalf("Alice's store has %d messages: %v", len(all), all)
	}
	for i := 1; i < len(all); i++ {
		if all[i-1]["creationTime"].(string) < all[i]["creationTime"].(string) {
			t.Fatalf("not newest first: %v", all)
		}
	}
	for _, tt := range []struct {
		query string
		want  int
	}{
		{"?messageType=Pager", 1},
		{"?messageType=SMS&direction=Outbound", 3},
		{"?messageType=Fax", 0},
		{"?direction=Inbound", 1},
		{"?readStatus=Unread", 1},
		{"?conversationId=" + a1["conversationId"].(string), 2},
		{"?phoneNumber=(650)%20555-0102", 2},
		{"?phoneNumber=102", 1},
		{"?phoneNumber=%2B15550101", 2},
		{"?dateFrom=2000-01-01&dateTo=2000-01-02", 0},
		{"?dateFrom=" + time.Now().Add(-time.Hour).UTC().Format("2006-01-02T15:04:05Z"), 5},
		{"?availability=Deleted", 0},
	} {
		if got := storeRecords(t, alice, tt.query); len(got) != tt.want {
			t.Errorf("%s: %d messages, want %d", tt.query, len(got), tt.want)
		}
	}

	page := alice.get(storePath + "?perPage=2&page=2&direction=Outbound")
	paging, _ := page["paging"].(map[string]any)
	nav, _ := page["navigation"].(map[string]any)
	if len(records(t, page)) != 2 || num(paging["totalElements"]) != 4 || num(paging["totalPages"]) != 2 || num(paging["pageStart"]) != 2 ||
		nav["previousPage"] == nil || nav["nextPage"] != nil || !strings.Contains(page["uri"].(string), "direction=Outbound") {
		t.Fatalf("page 2: %v", page)
	}
	first := nav["firstPage"].(map[string]any)["uri"].(string)
	if r := alice.call("GET", first, ""); r.StatusCode != http.StatusOK || len(records(t, r.json(t))) != 2 {
		t.Fatalf("firstPage %s: %d", first, r.StatusCode)
	}

	// Delete: gone from the default list, there with availability=Deleted.
	id := a1["id"].(string)
	del := alice.call("DELETE", storePath+"/"+id, "")
	if del.StatusCode != http.StatusOK || del.json(t)["availability"] != "Deleted" {
		t.Fatalf("DELETE: %d %s", del.StatusCode, del.body)
	}
	if n := len(storeRecords(t, alice, "")); n != 4 {
		t.Fatalf("after a delete the list has %d", n)
	}
	if got := storeRecords(t, alice, "?availability=Deleted"); len(got) != 1 || got[0]["id"] != id {
		t.Fatalf("deleted messages %v", got)
	}
	if m := message(t, alice, id); m["availability"] != "Deleted" {
		t.Fatalf("a deleted message reads %v", m)
	}

	// Permissions: Alice administers the account, Bob does not.
	bobsStore := fmt.Sprintf("/account/~/extension/%d/message-store", bobExt)
	if got := records(t, alice.get(bobsStore)); len(got) != 3 {
		t.Fatalf("Alice reads Bob's store: %d messages", len(got))
	}
	bobsMessage := records(t, alice.get(bobsStore))[0]["id"].(string)
	wantAPIError(t, alice.call("GET", storePath+"/"+bobsMessage, ""), http.StatusNotFound, "NotFound", "")
	if r := alice.call("GET", bobsStore+"/"+bobsMessage, ""); r.StatusCode != http.StatusOK {
		t.Fatalf("Alice reads Bob's message by his extension: %d", r.StatusCode)
	}
	wantAPIError(t, bob.call("GET", fmt.Sprintf("/account/~/extension/%d/message-store", alice.extensionID()), ""), http.StatusForbidden, "InsufficientPermissions", "")
	wantAPIError(t, bob.call("PUT", storePath+"/"+id, `{"readStatus": "Unread"}`), http.StatusNotFound, "NotFound", "")
	wantAPIError(t, bob.call("DELETE", storePath+"/"+id, ""), http.StatusNotFound, "NotFound", "")

	for _, tt := range []struct{ method, path, body, param string }{
		{"GET", storePath + "?messageType=Email", "", "messageType"},
		{"GET", storePath + "?direction=Sideways", "", "direction"},
		{"GET", storePath + "?readStatus=Maybe", "", "readStatus"},
		{"GET", storePath + "?availability=Gone", "", "availability"},
		{"GET", storePath + "?conversationId=abc", "", "conversationId"},
		{"GET", storePath + "?phoneNumber=%2B%2B1", "", "phoneNumber"},
		{"GET", storePath + "?dateFrom=yesterday", "", "dateFrom"},
		{"GET", storePath + "?dateFrom=2026-02-01&dateTo=2026-01-01", "", "dateTo"},
		{"GET", storePath + "?perPage=1001", "", "perPage"},
		{"PUT", storePath + "/" + id, `{"readStatus": "Seen"}`, "readStatus"},
		{"PUT", storePath + "/" + id, `{}`, "readStatus"},
		{"PUT", storePath + "/" + id, `{"availability": "Alive"}`, "availability"},
		{"POST", smsPath, smsBody("+16505550102", bobNumber, "not my number"), "from"},
		{"POST", smsPath, smsBody("", bobNumber, "no from"), "from"},
		{"POST", smsPath, smsBody(aliceNumber, "102", "an extension"), "to"},
		{"POST", smsPath, smsBody(aliceNumber, "not a number", "x"), "to"},
		{"POST", smsPath, `{"from": {"phoneNumber": "+16505550101"}, "to": [{"phoneNumber": "+16505550102"}, {"phoneNumber": "+16505550103"}], "text": "two"}`, "to"},
		{"POST", smsPath, `{"from": {"phoneNumber": "+16505550101"}, "to": [], "text": "none"}`, "to"},
		{"POST", smsPath, smsBody(aliceNumber, bobNumber, ""), "text"},
		{"POST", smsPath, smsBody(aliceNumber, bobNumber, strings.Repeat("é", 1001)), "text"},
		{"POST", smsPath, `{"from": {"phoneNumber": 16505550101}, "to": [{"phoneNumber": "+16505550102"}], "text": "x"}`, "from.phoneNumber"},
	} {
		wantAPIError(t, alice.call(tt.method, tt.path, tt.body), http.StatusBadRequest, "InvalidParameter", tt.param)
	}
	if r := alice.call("POST", smsPath, smsBody(aliceNumber, bobNumber, strings.Repeat("é", 1000))); r.StatusCode != http.StatusOK {
		t.Fatalf("1000 characters: %d %s", r.StatusCode, r.body)
	}
	wantAPIError(t, alice.call("POST", smsPath, `{"text": `), http.StatusBadRequest, "InvalidJSON", "")
	wantAPIError(t, alice.call("POST", smsPath, smsBody(aliceNumber, bobNumber, strings.Repeat("x", 70000))), http.StatusRequestEntityTooLarge, "RequestTooLarge", "")
	for _, bad := range []string{"999999", "abc", "-1", strings.Repeat("9", 30)} {
		wantAPIError(t, alice.call("GET", storePath+"/"+bad, ""), http.StatusNotFound, "NotFound", "")
	}
	if r := alice.call("PATCH", storePath+"/"+id, `{}`); r.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("PATCH: %d", r.StatusCode)
	}
	if r := do(t, browser(), "GET", srv.WidgetURL+"/restapi/v1.0"+storePath, nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %d", r.StatusCode)
	}
}

// TestWidgetMessages uses the widget's own message endpoints, as its
// messages page does.
func TestWidgetMessages(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000})
	bob := newPlatform(t, srv, "bob@demo.test")
	tab := openTab(t, srv, "alice@demo.test")
	call := func(method, path string, body any) response {
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		return do(t, tab.c, method, srv.WidgetURL+path, r, "Content-Type", "application/json", "X-Callbridge", "1", "X-Callbridge-Client", "demo", "Origin", srv.WidgetURL)
	}

	if r := call("GET", "/widget/messages", nil); r.StatusCode != http.StatusOK || r.body != "{\"records\":[]}\n" {
		t.Fatalf("empty list: %d %q", r.StatusCode, r.body)
	}
	sms := call("POST", "/widget/messages", map[string]any{"type": "SMS", "to": []string{"650-555-0102"}, "text": "From the widget"})
	if sms.StatusCode != http.StatusOK {
		t.Fatalf("send SMS: %d %s", sms.StatusCode, sms.body)
	}
	m := sms.json(t)
	if m["messageStatus"] != "Delivered" || party(m, "from")["phoneNumber"] != aliceNumber || m["uri"] != nil {
		t.Fatalf("sent from the widget %v", m)
	}
	pager := call("POST", "/widget/messages", map[string]any{"type": "Pager", "to": []string{"102", "103"}, "text": "Page from the widget"})
	if pager.StatusCode != http.StatusOK || pager.json(t)["type"] != "Pager" {
		t.Fatalf("send pager: %d %s", pager.StatusCode, pager.body)
	}
	reply := sendSMS(t, bob, bobNumber, aliceNumber, "Got it")

	var list struct {
		Records []map[string]any `json:"records"`
	}
	r := call("GET", "/widget/messages?perPage=2", nil)
	if json.Unmarshal([]byte(r.body), &list); len(list.Records) != 2 || list.Records[0]["subject"] != "Got it" || list.Records[1]["subject"] != "Page from the widget" {
		t.Fatalf("newest two: %s", r.body)
	}
	inID := list.Records[0]["id"].(string)
	r = call("GET", "/widget/messages?conversationId="+reply["conversationId"].(string), nil)
	if json.Unmarshal([]byte(r.body), &list); len(list.Records) != 2 {
		t.Fatalf("the conversation with Bob: %s", r.body)
	}
	if r := call("PUT", "/widget/messages/"+inID, map[string]string{"readStatus": "Read"}); r.StatusCode != http.StatusOK || r.json(t)["readStatus"] != "Read" {
		t.Fatalf("mark read: %d %s", r.StatusCode, r.body)
	}
	tab.waitFor(t, "the read message's update", updatedTo(inID, "Read"))

	for _, tt := range []struct {
		method, path string
		body         any
		status       int
		code, param  string
	}{
		{"POST", "/widget/messages", map[string]any{"to": []string{"102"}, "text": "x"}, 400, "InvalidParameter", "type"},
		{"POST", "/widget/messages", map[string]any{"type": "Fax", "to": []string{"102"}, "text": "x"}, 400, "InvalidParameter", "type"},
		{"POST", "/widget/messages", map[string]any{"type": "SMS", "to": []string{}, "text": "x"}, 400, "InvalidParameter", "to"},
		{"POST", "/widget/messages", map[string]any{"type": "Pager", "to": []string{"555"}, "text": "x"}, 400, "InvalidParameter", "to"},
		{"POST", "/widget/messages", map[string]any{"type": "SMS", "to": []string{"102"}, "text": ""}, 400, "InvalidParameter", "text"},
		{"PUT", "/widget/messages/" + inID, map[string]string{"readStatus": "Later"}, 400, "InvalidParameter", "readStatus"},
		{"PUT", "/widget/messages/123456789", map[string]string{"readStatus": "Read"}, 404, "NotFound", ""},
		{"PUT", "/widget/messages/" + reply["id"].(string), map[string]string{"readStatus": "Read"}, 404, "NotFound", ""},
		{"GET", "/widget/messages?perPage=0", nil, 400, "InvalidParameter", "perPage"},
		{"GET", "/widget/messages?conversationId=x", nil, 400, "InvalidParameter", "conversationId"},
	} {
		wantAPIError(t, call(tt.method, tt.path, tt.body), tt.status, tt.code, tt.param)
	}
	wantAPIError(t, do(t, tab.c, "GET", srv.WidgetURL+"/widget/messages", nil), http.StatusForbidden, "MissingHeader", "")
	signedOut := browser()
	openWidget(t, signedOut, srv)
	wantAPIError(t, do(t, signedOut, "GET", srv.WidgetURL+"/widget/messages", nil, "X-Callbridge", "1", "X-Callbridge-Client", "demo"), http.StatusUnauthorized, "NotSignedIn", "")
}

// TestMessageDeliverySurvivesRestart stops the server while the provider
// holds an SMS: the restarted server hands it over again, and the message
// the API accepted is not lost.
func TestMessageDeliverySurvivesRestart(t *testing.T) {
	t.Parallel()
	provider, ts := newProvider(t, testSecret)
	provider.block = make(chan struct{})
	dataDir := filepath.Join(t.TempDir(), "data")
	cfg := Config{DataDir: dataDir, APIRateLimit: 10000, SMSWebhookURL: ts.URL,
		SMSWebhookSecretFile: writeSecret(t, testSecret), SMSRetryDelay: 10 * time.Millisecond}
	ctx, stop := context.WithCancel(context.Background())
	srv, done := runUntil(t, ctx, cfg)
	alice := newPlatform(t, srv, "alice@demo.test")
	m := sendSMS(t, alice, aliceNumber, "+14155550123", "Survive this")
	id := m["id"].(string)
	deadline := time.Now().Add(patience)
	for {
		provider.mu.Lock()
		tried := provider.tries["+14155550123"]
		provider.mu.Unlock()
		if tried > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the provider was never called")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop() // the provider still holds the request
	if err := <-done; err != nil {
		t.Fatalf("server: %v", err)
	}
	provider.mu.Lock()
	close(provider.block)
	provider.block = nil
	provider.mu.Unlock()

	srv2 := startServer(t, cfg)
	alice.base = srv2.WidgetURL + "/restapi/v1.0"
	if sent := waitMessage(t, alice, id, "Sent", hasStatus("Sent")); num(sent["smsSendingAttemptsCount"]) != 1 {
		t.Fatalf("after the restart %v (a stop is not a failed attempt)", sent)
	}
	if got := provider.received(); len(got) != 1 || got[0].ID != id {
		t.Fatalf("the provider received %+v", got)
	}
}

// TestMessageStoreSubscription: a webhook subscription to Bob's message
// store hears of the SMS Alice sends him and of his reading it.
func TestMessageStoreSubscription(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000})
	alice, bob := newPlatform(t, srv, "alice@demo.test"), newPlatform(t, srv, "bob@demo.test")
	type note struct {
		Event string `json:"event"`
		Body  struct {
			ExtensionID int64 `json:"extensionId"`
			Changes     []struct {
				Type              string   `json:"type"`
				NewCount          int      `json:"newCount"`
				UpdatedCount      int      `json:"updatedCount"`
				NewMessageIDs     []string `json:"newMessageIds"`
				UpdatedMessageIDs []string `json:"updatedMessageIds"`
			} `json:"changes"`
		} `json:"body"`
	}
	notes := make(chan note, 16)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.Header.Get("Validation-Token"); tok != "" {
			w.Header().Set("Validation-Token", tok)
			return
		}
		var n note
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			t.Errorf("notification: %v", err)
		}
		notes <- n
	}))
	t.Cleanup(receiver.Close)
	sub := bob.call("POST", "/subscription", fmt.Sprintf(`{"eventFilters": ["/restapi/v1.0/account/~/extension/~/message-store"],
		"deliveryMode": {"transportType": "WebHook", "address": %q}}`, receiver.URL))
	if sub.StatusCode != http.StatusOK {
		t.Fatalf("subscribe: %d %s", sub.StatusCode, sub.body)
	}

	sendSMS(t, alice, aliceNumber, bobNumber, "Subscribed?")
	id := storeRecords(t, bob, "")[0]["id"].(string)
	if r := bob.call("PUT", storePath+"/"+id, `{"readStatus": "Read"}`); r.StatusCode != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.StatusCode, r.body)
	}
	next := func() note {
		select {
		case n := <-notes:
			return n
		case <-time.After(15 * time.Second):
			t.Fatal("no notification")
		}
		return note{}
	}
	created, read := next(), next()
	acct := num(bob.get("/account/~/extension/~")["account"].(map[string]any)["id"])
	want := fmt.Sprintf("/restapi/v1.0/account/%d/extension/%d/message-store", acct, bob.extensionID())
	for _, n := range []note{created, read} {
		if n.Event != want || n.Body.ExtensionID != bob.extensionID() || len(n.Body.Changes) != 1 || n.Body.Changes[0].Type != "SMS" {
			t.Fatalf("notification %+v, want event %s", n, want)
		}
	}
	if c := created.Body.Changes[0]; c.NewCount != 1 || len(c.NewMessageIDs) != 1 || c.NewMessageIDs[0] != id || c.UpdatedCount != 0 {
		t.Fatalf("the new message's notification %+v", c)
	}
	if c := read.Body.Changes[0]; c.UpdatedCount != 1 || len(c.UpdatedMessageIDs) != 1 || c.UpdatedMessageIDs[0] != id || c.NewCount != 0 {
		t.Fatalf("the read message's notification %+v", c)
	}
}

// TestSMSWebhookDirections: what the server signs for the SMS provider
// cannot be replayed to the server as an inbound SMS: the two directions
// are signed with keys of their own, derived from the one shared secret.
func TestSMSWebhookDirections(t *testing.T) {
	t.Parallel()
	provider, ts := newProvider(t, testSecret)
	srv := startServer(t, Config{APIRateLimit: 10000, SMSWebhookURL: ts.URL + "/sms",
		SMSWebhookSecretFile: writeSecret(t, testSecret), SMSRetryDelay: 10 * time.Millisecond})
	alice := newPlatform(t, srv, "alice@demo.test")
	bob := newPlatform(t, srv, "bob@demo.test")
	sent := sendSMS(t, alice, aliceNumber, "+14155550123", "Meet at noon")
	waitMessage(t, alice, sent["id"].(string), "Sent", hasStatus("Sent"))
	reqs := provider.requests()
	if len(reqs) != 1 {
		t.Fatalf("the provider got %d requests", len(reqs))
	}
	out := reqs[0]
	// Its signature is checked first, and refused: the body is then never
	// read as an inbound SMS.
	wantAPIError(t, postInbound(t, srv, out.body, out.header), http.StatusUnauthorized, "InvalidSignature", "")
	if n := len(storeRecords(t, bob, "")); n != 0 {
		t.Fatalf("a replayed outbound request left Bob %d messages", n)
	}
}
