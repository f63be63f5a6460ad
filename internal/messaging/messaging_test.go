package messaging_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/store"
)

// TestSignature: each direction is signed as docs/api-messages.md says,
// with its own key derived from the shared secret; what is signed for one
// direction is refused in the other, and old, altered or unsigned requests
// in either.
func TestSignature(t *testing.T) {
	secret := []byte("0123456789abcdef0123")
	body := []byte(`{"id":"1","text":"hi"}`)
	now := time.Unix(1_800_000_000, 0)
	// The documented computation, for a provider to follow.
	documented := func(label string) string {
		k := hmac.New(sha256.New, secret)
		k.Write([]byte(label))
		mac := hmac.New(sha256.New, k.Sum(nil))
		mac.Write([]byte("1800000000." + string(body)))
		return "sha256=" + hex.EncodeToString(mac.Sum(nil))
	}
	// As both directions were signed before they had keys of their own.
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("1800000000." + string(body)))
	bare := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	with := func(ts, sig string) http.Header {
		h := http.Header{}
		if ts != "" {
			h.Set(messaging.TimestampHeader, ts)
		}
		if sig != "" {
			h.Set(messaging.SignatureHeader, sig)
		}
		return h
	}
	for _, d := range []struct {
		dir, other messaging.Direction
		label      string
	}{
		{messaging.Outbound, messaging.Inbound, "callbridge sms outbound v1"},
		{messaging.Inbound, messaging.Outbound, "callbridge sms inbound v1"},
	} {
		good := messaging.Sign(secret, d.dir, now, body)
		if good.Get(messaging.TimestampHeader) != "1800000000" || good.Get(messaging.SignatureHeader) != documented(d.label) {
			t.Errorf("%s signature headers %v, want %s", d.dir, good, documented(d.label))
		}
		sig := good.Get(messaging.SignatureHeader)
		for _, tt := range []struct {
			name   string
			dir    messaging.Direction // verified as
			header http.Header
			body   []byte
			at     time.Time
			ok     bool
		}{
			{"good", d.dir, good, body, now, true},
			{"good, 4 minutes later", d.dir, good, body, now.Add(4 * time.Minute), true},
			{"replayed in the other direction", d.other, good, body, now, false},
			{"signed with the bare secret", d.dir, with("1800000000", bare), body, now, false},
			{"too old", d.dir, good, body, now.Add(6 * time.Minute), false},
			{"from the future", d.dir, good, body, now.Add(-6 * time.Minute), false},
			{"another body", d.dir, good, []byte(`{"id":"2","text":"hi"}`), now, false},
			{"another time", d.dir, with("1800000001", sig), body, now, false},
			{"no time", d.dir, with("", sig), body, now, false},
			{"no signature", d.dir, with("1800000000", ""), body, now, false},
			{"bare hex", d.dir, with("1800000000", strings.TrimPrefix(sig, "sha256=")), body, now, false},
			{"garbage", d.dir, with("x", "y"), body, now, false},
		} {
			t.Run(string(d.dir)+"/"+tt.name, func(t *testing.T) {
				err := messaging.VerifySignature(secret, tt.dir, tt.header, tt.body, tt.at)
				if (err == nil) != tt.ok || (err != nil && !errors.Is(err, messaging.ErrBadSignature)) {
					t.Fatalf("verify as %s: %v, want ok=%v", tt.dir, err, tt.ok)
				}
			})
		}
		if err := messaging.VerifySignature(nil, d.dir, good, body, now); !errors.Is(err, messaging.ErrBadSignature) {
			t.Fatalf("no secret: %v", err)
		}
	}
}

func TestLoadWebhook(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, short := write("good", "  a secret of enough bytes\n"), write("short", "tiny\n")
	for _, tt := range []struct {
		name, url, file, want string
		ok                    bool
	}{
		{"nothing", "", "", "", true},
		{"both", "https://sms.example.com/hook", good, "a secret of enough bytes", true},
		{"inbound only", "", good, "a secret of enough bytes", true},
		{"url without secret", "https://sms.example.com/hook", "", "", false},
		{"relative url", "/hook", good, "", false},
		{"ftp url", "ftp://sms.example.com/hook", good, "", false},
		{"short secret", "", short, "", false},
		{"missing file", "", filepath.Join(dir, "none"), "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			secret, err := messaging.LoadWebhook(tt.url, tt.file)
			if (err == nil) != tt.ok || string(secret) != tt.want {
				t.Fatalf("secret %q, err %v", secret, err)
			}
		})
	}
}

// fixture is a service over a real store with the demo account.
type fixture struct {
	db      *store.DB
	svc     *messaging.Service
	exts    map[string]identity.Extension
	mu      sync.Mutex
	changes []messaging.Change
	changed chan struct{} // a change was recorded
}

func newFixture(t *testing.T, cfg messaging.Config) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := identity.NewDirectory(db).SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	acct, _ := db.AccountByMainNumber(ctx, identity.DemoMainNumber)
	list, _ := db.Extensions(ctx, acct.ID)
	f := &fixture{db: db, exts: map[string]identity.Extension{}, changed: make(chan struct{}, 1)}
	for _, e := range list {
		f.exts[e.Number] = e
	}
	cfg.OnChange = func(c messaging.Change) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.changes = append(f.changes, c)
		select {
		case f.changed <- struct{}{}:
		default:
		}
	}
	f.svc = messaging.New(cfg, db, db)
	return f
}

// settled waits for the change that takes the copy id out of Queued, and
// returns it; the limit only guards against a hang.
func (f *fixture) settled(t *testing.T, id string) messaging.Message {
	t.Helper()
	limit := time.After(60 * time.Second)
	for {
		for _, c := range f.changesOf(id) {
			if c.Message.Status != messaging.Queued {
				return c.Message
			}
		}
		select {
		case <-f.changed:
		case <-limit:
			t.Fatalf("message %s stayed queued: %+v", id, f.changesOf(id))
		}
	}
}

func (f *fixture) changesOf(id string) []messaging.Change {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []messaging.Change
	for _, c := range f.changes {
		if c.Message.ID == id {
			out = append(out, c)
		}
	}
	return out
}

// TestVersionsAreDistinct: with the clock standing still, each change of a
// copy still gets its own, later lastModifiedTime, and each is reported once.
func TestVersionsAreDistinct(t *testing.T) {
	frozen := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	f := newFixture(t, messaging.Config{Now: func() time.Time { return frozen }})
	ctx := context.Background()
	m, err := f.svc.SendSMS(ctx, f.exts["101"].ID, messaging.SMSRequest{From: "+16505550101", To: []string{"+15550101"}, Text: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	changes := f.changesOf(m.ID)
	var statuses []messaging.Status
	for i, c := range changes {
		statuses = append(statuses, c.Message.Status)
		if i > 0 && !c.Message.LastModifiedTime.After(changes[i-1].Message.LastModifiedTime) {
			t.Fatalf("version %d not after the one before: %v", i, changes)
		}
	}
	if len(changes) != 3 || statuses[0] != messaging.Queued || statuses[2] != messaging.Delivered || !changes[0].New || changes[1].New {
		t.Fatalf("changes of the sent copy: %+v", changes)
	}
	if !m.LastModifiedTime.Equal(changes[2].Message.LastModifiedTime) || m.Status != messaging.Delivered {
		t.Fatalf("the answer %+v is not the last version", m)
	}
	// Marking it read twice is one change.
	for range 2 {
		if _, err := f.svc.SetReadStatus(ctx, f.exts["101"].ID, m.ID, messaging.Unread); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(f.changesOf(m.ID)); n != 4 {
		t.Fatalf("%d changes after marking it unread twice", n)
	}
	// Someone else's message is not found, and does not change.
	if _, err := f.svc.SetReadStatus(ctx, f.exts["102"].ID, m.ID, messaging.Read); !errors.Is(err, messaging.ErrNotFound) {
		t.Fatalf("Bob marks Alice's message: %v", err)
	}
	if _, err := f.svc.Delete(ctx, f.exts["102"].ID, m.ID); !errors.Is(err, messaging.ErrNotFound) {
		t.Fatalf("Bob deletes Alice's message: %v", err)
	}
	if n := len(f.changesOf(m.ID)); n != 4 {
		t.Fatalf("%d changes after Bob's attempts", n)
	}
}

// TestResumeAfterCrash plays a server that stopped in the middle of a
// delivery to Bob, after his copy was made: Run finishes it without a
// second copy and without telling of Bob's copy again.
func TestResumeAfterCrash(t *testing.T) {
	f := newFixture(t, messaging.Config{})
	ctx := context.Background()
	alice, bob := f.exts["101"], f.exts["102"]
	now := time.Now().UTC().Truncate(time.Millisecond)
	sent := messaging.Message{AccountID: alice.AccountID, ExtensionID: alice.ID, Type: messaging.SMS, Direction: messaging.Outbound,
		From: messaging.Party{PhoneNumber: "+16505550101"}, To: []messaging.Party{{PhoneNumber: "+16505550102"}}, Subject: "before the crash",
		CreationTime: now, LastModifiedTime: now, ReadStatus: messaging.Read, Status: messaging.Sent, Availability: messaging.Alive, ConversationID: "1"}
	job := messaging.Delivery{Route: messaging.RouteOnNet, Recipients: []int64{bob.ID}}.Job(sent.ConversationID, now.Add(-time.Minute))
	stored, _, err := f.db.AddMessages(ctx, []messaging.Message{sent}, &job)
	if err != nil {
		t.Fatal(err)
	}
	id := stored[0].ID
	bobs := sent
	bobs.ExtensionID, bobs.Direction, bobs.ReadStatus, bobs.Status, bobs.OriginID = bob.ID, messaging.Inbound, messaging.Unread, messaging.Received, id
	if _, _, err := f.db.AddMessages(ctx, []messaging.Message{bobs}, nil); err != nil {
		t.Fatal(err)
	}

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { f.svc.Run(runCtx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := f.db.Message(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status == messaging.Delivered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never delivered: %+v", m)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	<-done
	page, err := f.db.QueryMessages(ctx, messaging.Query{ExtensionID: bob.ID, Limit: 10})
	if err != nil || page.Total != 1 {
		t.Fatalf("Bob has %d copies (%v)", page.Total, err)
	}
	if c := f.changesOf(page.Messages[0].ID); len(c) != 0 {
		t.Fatalf("Bob's copy, made before the crash, was reported again: %+v", c)
	}
	if c := f.changesOf(id); len(c) != 1 || c[0].Message.Status != messaging.Delivered {
		t.Fatalf("changes of the sent copy: %+v", c)
	}
	if jobs, _ := f.db.Jobs(ctx, messaging.KindLocal, messaging.KindSMS); len(jobs) != 0 {
		t.Fatalf("deliveries left: %+v", jobs)
	}
}

// TestTestLinesDocumented checks docs/api-messages.md's table of what the
// test numbers do with an SMS against the code.
func TestTestLinesDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/api-messages.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `(\\+1555\\d{4})`(?:[–-]`(\\+1555\\d{4})`)? \\| (.+?) \\|$")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		documented[m[1]+m[2]] = m[3]
	}
	lines := messaging.TestLines()
	if len(lines) == 0 {
		t.Fatal("no test lines")
	}
	for _, tl := range lines {
		key := tl.Number + tl.Last
		if documented[key] != tl.Behaviour {
			t.Errorf("%s%s: docs say %q, the code %q", tl.Number, tl.Last, documented[key], tl.Behaviour)
		}
		delete(documented, key)
	}
	for k, v := range documented {
		t.Errorf("docs/api-messages.md documents %s (%s), which is no test line", k, v)
	}
}

// TestProviderDeliveries sends more SMS to the provider than Run has
// workers, with the provider holding the first requests: each reaches it
// exactly once, signed, and all end Sent.
func TestProviderDeliveries(t *testing.T) {
	secret := []byte("a secret of sixteen bytes or more")
	release := make(chan struct{})
	var mu sync.Mutex
	seen := map[string]int{}
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := messaging.VerifySignature(secret, messaging.Outbound, r.Header, body, time.Now()); err != nil {
			t.Errorf("provider: %v", err)
		}
		var sms messaging.OutboundSMS
		json.Unmarshal(body, &sms)
		mu.Lock()
		seen[sms.ID]++
		mu.Unlock()
		<-release
	}))
	defer provider.Close()
	f := newFixture(t, messaging.Config{WebhookURL: provider.URL, WebhookSecret: secret, RetryDelay: 10 * time.Millisecond,
		AllowLoopback: true})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.svc.Run(ctx); close(done) }()
	defer func() { stop(); <-done }()

	var ids []string
	for i := range 10 {
		m, err := f.svc.SendSMS(context.Background(), f.exts["101"].ID, messaging.SMSRequest{
			From: "+16505550101", To: []string{"+14155550123"}, Text: "message " + strconv.Itoa(i)})
		if err != nil || m.Status != messaging.Queued {
			t.Fatalf("send %d: %+v %v", i, m, err)
		}
		ids = append(ids, m.ID)
	}
	close(release)
	deadline := time.Now().Add(15 * time.Second)
	for _, id := range ids {
		for {
			m, err := f.db.Message(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if m.Status == messaging.Sent && m.Attempts == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("message %s: %+v", id, m)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("the provider got message %s %d times", id, seen[id])
		}
	}
}

// TestProviderAddressGuarded: the SMS provider's webhook goes through the
// same guard as webhook receivers: outside development a provider on
// loopback (or any private address) is never reached, and the sender is
// not told the provider's address or the dial error; in development it is.
func TestProviderAddressGuarded(t *testing.T) {
	secret := []byte("a secret of sixteen bytes or more")
	var mu sync.Mutex
	got := 0
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got++
		mu.Unlock()
	}))
	defer provider.Close()
	for _, dev := range []bool{false, true} {
		name := map[bool]string{false: "production", true: "development"}[dev]
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, messaging.Config{WebhookURL: provider.URL + "/sms", WebhookSecret: secret, MaxAttempts: 1, AllowLoopback: dev})
			ctx, stop := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { f.svc.Run(ctx); close(done) }()
			defer func() { stop(); <-done }()
			m, err := f.svc.SendSMS(context.Background(), f.exts["101"].ID, messaging.SMSRequest{
				From: "+16505550101", To: []string{"+14155550123"}, Text: "hello"})
			if err != nil {
				t.Fatal(err)
			}
			settled := f.settled(t, m.ID)
			if dev {
				if settled.Status != messaging.Sent {
					t.Fatalf("in development the provider on loopback was not reached: %+v", settled)
				}
				return
			}
			if settled.Status != messaging.DeliveryFailed {
				t.Fatalf("the provider on loopback was reached: %+v", settled)
			}
			mu.Lock()
			n := got
			mu.Unlock()
			if n != 0 {
				t.Fatalf("the provider on loopback got %d requests", n)
			}
			u, _ := url.Parse(provider.URL)
			for _, leak := range []string{u.Hostname(), u.Port(), "dial", "tcp", "/sms", "may not be"} {
				if strings.Contains(settled.DeliveryErrorReason, leak) {
					t.Errorf("the sender is told %q: %s", leak, settled.DeliveryErrorReason)
				}
			}
		})
	}
}
