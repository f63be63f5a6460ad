package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/webrtc/v3"

	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/telephony"
)

// accessToken signs a demo user in over HTTP, as a CRM server would, and
// returns the access token.
func accessToken(t *testing.T, srv *instance, email string) string {
	t.Helper()
	f := newFlow(t, srv)
	loc := location(t, login(t, f.c, f.authURL(nil), email, "demo"))
	access, _ := tokens(t, f.exchange(t, loc.Query().Get("code"), f.verifier))
	return access
}

// platform calls the platform API with one user's token.
type platform struct {
	t     *testing.T
	c     *http.Client
	base  string
	token string
}

func newPlatform(t *testing.T, srv *instance, email string) *platform {
	return &platform{t: t, c: browser(), base: srv.WidgetURL + "/restapi/v1.0", token: accessToken(t, srv, email)}
}

// call sends a request; path is under /restapi/v1.0 unless it is a whole URL.
func (p *platform) call(method, path, body string) response {
	p.t.Helper()
	u := path
	if !strings.HasPrefix(path, "http") {
		u = p.base + path
	}
	var r *strings.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	h := []string{"Authorization", "Bearer " + p.token}
	if body != "" {
		h = append(h, "Content-Type", "application/json")
	}
	if r == nil {
		return do(p.t, p.c, method, u, nil, h...)
	}
	return do(p.t, p.c, method, u, r, h...)
}

// get answers the JSON of a GET that must succeed.
func (p *platform) get(path string) map[string]any {
	p.t.Helper()
	r := p.call("GET", path, "")
	if r.StatusCode != http.StatusOK {
		p.t.Fatalf("GET %s: %d %s", path, r.StatusCode, r.body)
	}
	return r.json(p.t)
}

// extensionID returns the id of the token's extension.
func (p *platform) extensionID() int64 {
	p.t.Helper()
	return int64(p.get("/account/~/extension/~")["id"].(float64))
}

// wantAPIError checks an error answer: status, errorCode, the errors array
// and the parameter it names.
func wantAPIError(t *testing.T, r response, status int, code, param string) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", r.StatusCode, status, r.body)
	}
	var e struct {
		ErrorCode string `json:"errorCode"`
		Message   string `json:"message"`
		Errors    []struct {
			ErrorCode     string `json:"errorCode"`
			Message       string `json:"message"`
			ParameterName string `json:"parameterName"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("error body not JSON: %s", r.body)
	}
	if e.ErrorCode != code || e.Message == "" || len(e.Errors) != 1 || e.Errors[0].ErrorCode != code || e.Errors[0].ParameterName != param {
		t.Fatalf("error %s, want errorCode %s naming %q", r.body, code, param)
	}
}

func records(t *testing.T, list map[string]any) []map[string]any {
	t.Helper()
	raw, ok := list["records"].([]any)
	if !ok {
		t.Fatalf("no records array in %v", list)
	}
	out := make([]map[string]any, len(raw))
	for i, r := range raw {
		out[i] = r.(map[string]any)
	}
	return out
}

func num(v any) int { f, _ := v.(float64); return int(f) }

// seedCallLog writes call-log records straight into the server's database.
func seedCallLog(t *testing.T, srv *instance, recs []telephony.CallRecord) {
	t.Helper()
	db, err := store.Open(context.Background(), srv.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.AddCallRecords(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

var (
	aliceEP = telephony.Endpoint{PhoneNumber: "+16505550101", Name: "Alice Adams", ExtensionNumber: "101"}
	bobEP   = telephony.Endpoint{PhoneNumber: "+16505550102", Name: "Bob Brown", ExtensionNumber: "102"}
	toneEP  = telephony.Endpoint{PhoneNumber: "+15550100", Name: "Tone line"}
)

// TestCallLogAPI reads a seeded call log through every filter, page and
// error of the call-log resources, as the admin alice and the user bob.
func TestCallLogAPI(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 10000})
	alice, bob := newPlatform(t, srv, "alice@demo.test"), newPlatform(t, srv, "bob@demo.test")
	aliceID, bobID := alice.extensionID(), bob.extensionID()

	// Alice: 150 calls in the last week, one an hour — to Bob, to the tone
	// line, from Bob in turn — and 5 ten days ago; Bob: 20 calls from Alice.
	now := time.Now().UTC().Truncate(time.Second)
	var recs []telephony.CallRecord
	rec := func(id string, ext int64, at time.Time, dir telephony.Direction, from, to telephony.Endpoint) telephony.CallRecord {
		return telephony.CallRecord{ID: id, Extension: ext, SessionID: "17000" + strconv.Itoa(len(recs)), TelephonySessionID: "s-" + id,
			PartyID: id, StartTime: at, Duration: 42 * time.Second, Direction: dir, From: from, To: to, Type: "Voice",
			Action: "VoIP Call", Result: telephony.ResultConnected}
	}
	for i := 1; i <= 150; i++ {
		at := now.Add(-time.Duration(i) * time.Hour)
		switch i % 3 {
		case 0:
			recs = append(recs, rec(fmt.Sprintf("p-a%03d", i), aliceID, at, telephony.Outbound, aliceEP, bobEP))
		case 1:
			r := rec(fmt.Sprintf("p-a%03d", i), aliceID, at, telephony.Outbound, aliceEP, toneEP)
			r.Action = "Phone Call"
			recs = append(recs, r)
		case 2:
			recs = append(recs, rec(fmt.Sprintf("p-a%03d", i), aliceID, at, telephony.Inbound, bobEP, aliceEP))
		}
	}
	for i := 1; i <= 5; i++ {
		recs = append(recs, rec(fmt.Sprintf("p-old%d", i), aliceID, now.Add(-240*time.Hour-time.Duration(i)*time.Minute), telephony.Outbound, aliceEP, bobEP))
	}
	for i := 1; i <= 20; i++ {
		recs = append(recs, rec(fmt.Sprintf("p-b%03d", i), bobID, now.Add(-time.Duration(i)*time.Hour), telephony.Inbound, aliceEP, bobEP))
	}
	seedCallLog(t, srv, recs)

	const log = "/account/~/extension/~/call-log"
	t.Run("default week, paging and navigation", func(t *testing.T) {
		r := alice.call("GET", log, "")
		for _, h := range []string{"X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Window"} {
			if r.Header.Get(h) == "" {
				t.Errorf("no %s header", h)
			}
		}
		first := r.json(t)
		got := records(t, first)
		paging := first["paging"].(map[string]any)
		if len(got) != 100 || num(paging["totalElements"]) != 150 || num(paging["totalPages"]) != 2 ||
			num(paging["page"]) != 1 || num(paging["perPage"]) != 100 || num(paging["pageStart"]) != 0 || num(paging["pageEnd"]) != 99 {
			t.Fatalf("%d records, paging %v", len(got), paging)
		}
		r0 := got[0]
		wantURI := srv.WidgetURL + "/restapi/v1.0/account/"
		if r0["id"] != "p-a001" || !strings.HasPrefix(r0["uri"].(string), wantURI) || !strings.HasSuffix(r0["uri"].(string), "/call-log/p-a001") ||
			r0["sessionId"] == "" || r0["telephonySessionId"] != "s-p-a001" || r0["startTime"] != now.Add(-time.Hour).Format("2006-01-02T15:04:05.000Z") ||
			num(r0["duration"]) != 42 || r0["type"] != "Voice" || r0["direction"] != "Outbound" || r0["action"] != "Phone Call" ||
			r0["result"] != "Call connected" || r0["to"].(map[string]any)["phoneNumber"] != "+15550100" ||
			r0["from"].(map[string]any)["extensionNumber"] != "101" || r0["legs"] != nil {
			t.Fatalf("first record %v", r0)
		}
		nav := first["navigation"].(map[string]any)
		if nav["previousPage"] != nil || nav["firstPage"] == nil || nav["lastPage"] == nil || nav["nextPage"] == nil ||
			!strings.Contains(first["uri"].(string), "dateFrom=") {
			t.Fatalf("navigation %v, uri %v", nav, first["uri"])
		}
		next := alice.get(nav["nextPage"].(map[string]any)["uri"].(string))
		paging = next["paging"].(map[string]any)
		if got := records(t, next); len(got) != 50 || got[0]["id"] != "p-a101" || num(paging["pageStart"]) != 100 || num(paging["pageEnd"]) != 149 {
			t.Fatalf("second page: %d records, paging %v", len(got), paging)
		}
		nav = next["navigation"].(map[string]any)
		if nav["nextPage"] != nil || nav["previousPage"].(map[string]any)["uri"] != first["navigation"].(map[string]any)["firstPage"].(map[string]any)["uri"] {
			t.Fatalf("second page navigation %v", nav)
		}
		empty := alice.get(log + "?page=9")
		if got := records(t, empty); len(got) != 0 || empty["paging"].(map[string]any)["pageStart"] != nil {
			t.Fatalf("page past the end: %v", empty)
		}
	})

	t.Run("filters", func(t *testing.T) {
		tests := []struct {
			query string
			total int
			first string
		}{
			{"dateFrom=" + url.QueryEscape(now.Add(-11*24*time.Hour).Format(time.RFC3339)), 155, "p-a001"},
			{"dateFrom=" + now.Add(-11*24*time.Hour).Format("2006-01-02") + "&dateTo=" + url.QueryEscape(now.Add(-200*time.Hour).Format(time.RFC3339)), 5, "p-old1"},
			{"dateTo=" + url.QueryEscape(now.Add(-100*time.Hour).Format(time.RFC3339Nano)), 50 + 5, "p-a101"}, // from a week before
			{"phoneNumber=" + url.QueryEscape("(650) 555-0102"), 100, "p-a002"},
			{"phoneNumber=" + url.QueryEscape("+1 650-555-0102"), 100, "p-a002"},
			{"phoneNumber=6505550102&direction=Outbound", 50, "p-a003"},
			{"phoneNumber=102", 100, "p-a002"},
			{"phoneNumber=555-0100", 0, ""}, // 7 digits: an extension number, which has no call
			{"phoneNumber=%2B15550100", 50, "p-a001"},
			{"direction=Inbound", 50, "p-a002"},
			{"direction=Inbound&direction=Outbound&type=Voice", 150, "p-a001"},
			{"type=Fax", 0, ""},
			{"perPage=7&page=3", 150, "p-a015"},
		}
		for _, tt := range tests {
			t.Run(tt.query, func(t *testing.T) {
				r := alice.call("GET", log+"?"+tt.query, "")
				if r.StatusCode != http.StatusOK {
					t.Fatalf("%d %s", r.StatusCode, r.body)
				}
				list := r.json(t)
				got := records(t, list)
				total := num(list["paging"].(map[string]any)["totalElements"])
				firstID := ""
				if len(got) > 0 {
					firstID, _ = got[0]["id"].(string)
				}
				if total != tt.total || firstID != tt.first {
					t.Fatalf("total %d, first %q; want %d, %q", total, firstID, tt.total, tt.first)
				}
			})
		}
		detailed := records(t, alice.get(log+"?view=Detailed&perPage=1"))
		legs, _ := detailed[0]["legs"].([]any)
		if len(legs) != 1 || legs[0].(map[string]any)["legType"] != "SipToPstnUnmetered" || legs[0].(map[string]any)["master"] != true {
			t.Fatalf("detailed record %v", detailed[0])
		}
	})

	t.Run("one record", func(t *testing.T) {
		one := alice.get(log + "/p-a003")
		if one["id"] != "p-a003" || one["direction"] != "Outbound" || one["to"].(map[string]any)["name"] != "Bob Brown" {
			t.Fatalf("record %v", one)
		}
		if one := alice.get(log + "/p-a003?view=Detailed"); one["legs"] == nil {
			t.Fatalf("detailed record %v", one)
		}
		wantAPIError(t, alice.call("GET", log+"/p-b001", ""), http.StatusNotFound, "NotFound", "") // Bob's, not hers
		wantAPIError(t, alice.call("GET", log+"/nope", ""), http.StatusNotFound, "NotFound", "")   // no such record
		wantAPIError(t, bob.call("GET", log+"/p-a003", ""), http.StatusNotFound, "NotFound", "")   // Alice's
		wantAPIError(t, alice.call("GET", log+"/p-a003?view=All", ""), 400, "InvalidParameter", "view")
	})

	t.Run("administrators", func(t *testing.T) {
		bobs := fmt.Sprintf("/account/~/extension/%d/call-log", bobID)
		if list := alice.get(bobs); num(list["paging"].(map[string]any)["totalElements"]) != 20 || records(t, list)[0]["id"] != "p-b001" {
			t.Fatalf("Bob's call log for the admin: %v", list["paging"])
		}
		if r := alice.get(bobs + "/p-b002"); r["id"] != "p-b002" {
			t.Fatalf("Bob's record for the admin: %v", r)
		}
		acct := alice.get("/account/~/call-log?perPage=5")
		if num(acct["paging"].(map[string]any)["totalElements"]) != 170 {
			t.Fatalf("account call log: %v", acct["paging"])
		}
		first := records(t, acct)[0] // p-a001 and p-b001 start together: the last stored comes first
		if first["id"] != "p-b001" || !strings.HasSuffix(first["uri"].(string), "/call-log/p-b001") ||
			strings.Contains(first["uri"].(string), "/extension/") || num(first["extension"].(map[string]any)["id"]) != int(bobID) {
			t.Fatalf("account record %v", first)
		}
		if r := alice.get("/account/~/call-log/p-b003"); r["id"] != "p-b003" {
			t.Fatalf("account record %v", r)
		}
		numericAcct := strings.TrimPrefix(alice.get("/account/~/extension/~")["account"].(map[string]any)["uri"].(string), srv.WidgetURL+"/restapi/v1.0")
		if r := alice.get(numericAcct + fmt.Sprintf("/extension/%d", bobID)); r["extensionNumber"] != "102" {
			t.Fatalf("Bob's extension for the admin: %v", r)
		}
		wantAPIError(t, alice.call("GET", "/account/~/call-log/nope", ""), http.StatusNotFound, "NotFound", "")
		wantAPIError(t, alice.call("GET", "/account/~/extension/999999/call-log", ""), http.StatusNotFound, "NotFound", "")
		wantAPIError(t, alice.call("GET", "/account/~/extension/bob/call-log", ""), http.StatusNotFound, "NotFound", "")
		wantAPIError(t, alice.call("GET", "/account/999999/call-log", ""), http.StatusNotFound, "NotFound", "")
		wantAPIError(t, alice.call("GET", "/account/999999/extension/~/call-log", ""), http.StatusNotFound, "NotFound", "")

		for _, path := range []string{"/account/~/call-log", "/account/~/call-log/p-b001",
			fmt.Sprintf("/account/~/extension/%d/call-log", aliceID), fmt.Sprintf("/account/~/extension/%d", aliceID),
			fmt.Sprintf("/account/~/extension/%d/presence", aliceID), fmt.Sprintf("/account/~/extension/%d/active-calls", aliceID),
			"/account/~/extension/999999/call-log"} {
			wantAPIError(t, bob.call("GET", path, ""), http.StatusForbidden, "InsufficientPermissions", "")
		}
		wantAPIError(t, bob.call("PUT", fmt.Sprintf("/account/~/extension/%d/presence", aliceID), `{"userStatus":"Busy"}`),
			http.StatusForbidden, "InsufficientPermissions", "")
		if r := bob.get(fmt.Sprintf("/account/~/extension/%d/call-log", bobID)); num(r["paging"].(map[string]any)["totalElements"]) != 20 {
			t.Fatalf("Bob's own call log by id: %v", r["paging"])
		}
	})

	t.Run("errors", func(t *testing.T) {
		bad := map[string]string{
			"page=0": "page", "page=two": "page", "perPage=0": "perPage", "perPage=1001": "perPage",
			"dateFrom=last-week": "dateFrom", "dateTo=2026-02-30": "dateTo", "dateFrom=2026-02-01&dateTo=2026-01-01": "dateTo",
			"phoneNumber=call-me": "phoneNumber", "direction=Both": "direction", "type=SMS": "type", "view=Full": "view",
		}
		for query, param := range bad {
			wantAPIError(t, alice.call("GET", log+"?"+query, ""), http.StatusBadRequest, "InvalidParameter", param)
		}
		wantAPIError(t, alice.call("DELETE", log, ""), http.StatusMethodNotAllowed, "MethodNotAllowed", "")
		wantAPIError(t, alice.call("POST", "/account/~/extension/~/presence", "{}"), http.StatusMethodNotAllowed, "MethodNotAllowed", "")
		wantAPIError(t, alice.call("GET", "/account/~/extension/~/no-such-thing", ""), http.StatusNotFound, "NotFound", "")
		r := do(t, browser(), "GET", srv.WidgetURL+"/restapi/v1.0"+log, nil)
		wantUnauthorized(t, r, "call log without a token")
		wantAPIError(t, r, http.StatusUnauthorized, "TokenMissing", "")
	})
}

// TestAPIRateLimit: past its budget an extension gets 429 with Retry-After;
// other extensions keep theirs.
func TestAPIRateLimit(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{APIRateLimit: 3, APIRateWindow: time.Minute})
	alice, bob := newPlatform(t, srv, "alice@demo.test"), newPlatform(t, srv, "bob@demo.test")
	for i, want := range []string{"2", "1", "0"} {
		r := alice.call("GET", "/account/~/extension/~/presence", "")
		if r.StatusCode != http.StatusOK || r.Header.Get("X-Rate-Limit-Remaining") != want || r.Header.Get("X-Rate-Limit-Limit") != "3" ||
			r.Header.Get("X-Rate-Limit-Window") != "60" {
			t.Fatalf("request %d: %d, headers %v", i+1, r.StatusCode, r.Header)
		}
	}
	r := alice.call("GET", "/account/~/extension/~/presence", "")
	wantAPIError(t, r, http.StatusTooManyRequests, "TooManyRequests", "")
	if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 20 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	if r := bob.call("GET", "/account/~/extension/~/presence", ""); r.StatusCode != http.StatusOK {
		t.Fatalf("Bob limited by Alice's requests: %d", r.StatusCode)
	}
}

// widgetTab is a signed-in widget tab with its event stream open, so the
// switch rings its device.
type widgetTab struct {
	srv    *instance
	c      *http.Client
	device string
	events chan map[string]any
}

// openTab signs the widget in as email (popup flow) and opens its stream.
func openTab(t *testing.T, srv *instance, email string) *widgetTab {
	t.Helper()
	iframe, popup := browser(), browser()
	openWidget(t, iframe, srv)
	callback := location(t, login(t, popup, startLogin(t, iframe, srv, "popup"), email, "demo"))
	if r := widgetPost(t, iframe, srv.WidgetURL, "/widget/login/complete", map[string]string{"callbackUri": callback.String()}); r.StatusCode != http.StatusOK {
		t.Fatalf("widget sign-in as %s: %d %s", email, r.StatusCode, r.body)
	}
	w := &widgetTab{srv: srv, c: iframe, device: newDevice(t, iframe, srv)}
	w.listen(t)
	return w
}

// listen opens the tab's event stream; events arrive on w.events until the
// test ends.
func (w *widgetTab) listen(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stream := &http.Client{Jar: w.c.Jar, Transport: w.c.Transport}
	req, _ := http.NewRequestWithContext(ctx, "GET", w.srv.WidgetURL+"/widget/events?clientId=demo&deviceId="+w.device, nil)
	resp, err := stream.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("event stream: %v %v", err, resp)
	}
	w.events = make(chan map[string]any, 256)
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var m map[string]any
			if json.Unmarshal([]byte(data), &m) == nil {
				select {
				case w.events <- m:
				default:
				}
			}
		}
	}()
}

// waitFor returns the first event that matches, failing after a while.
func (w *widgetTab) waitFor(t *testing.T, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(patience)
	for {
		select {
		case m := <-w.events:
			if match(m) {
				return m
			}
		case <-deadline:
			t.Fatalf("%s: no %s", w.device, what)
		}
	}
}

// dial places a call from the tab; offer is "" for a call that must fail
// before any media is set up.
func (w *widgetTab) dial(t *testing.T, to string, offer *peer) map[string]any {
	t.Helper()
	sdp := "v=0 (no media: this call must fail before it rings)"
	if offer != nil {
		sdp = offer.offer
	}
	r := widgetPost(t, w.c, w.srv.WidgetURL, "/widget/calls", map[string]string{"deviceId": w.device, "to": to, "sdp": sdp})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("dial %s: %d %s", to, r.StatusCode, r.body)
	}
	resp := r.json(t)
	if offer != nil {
		offer.answer(t, resp["sdp"].(string))
	}
	return resp["call"].(map[string]any)
}

func (w *widgetTab) hangup(t *testing.T, callID string) {
	t.Helper()
	if r := widgetPost(t, w.c, w.srv.WidgetURL, "/widget/calls/"+callID+"/hangup", map[string]string{"deviceId": w.device}); r.StatusCode != http.StatusOK {
		t.Fatalf("hang up: %d %s", r.StatusCode, r.body)
	}
}

// peer is a loopback-only WebRTC peer that offers audio, as the widget does.
type peer struct {
	pc        *webrtc.PeerConnection
	offer     string
	connected chan struct{} // closed once ICE connects
}

// waitConnected waits for the media path to the gateway, as a widget has
// it before anyone hangs up.
func (p *peer) waitConnected(t *testing.T) {
	t.Helper()
	select {
	case <-p.connected:
	case <-time.After(patience):
		t.Fatal("ICE did not connect to the media gateway")
	}
}

func newPeer(t *testing.T) *peer {
	t.Helper()
	return newPeerWith(t, func(pc *webrtc.PeerConnection) error {
		_, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio)
		return err
	})
}

// newPeerWith is a loopback-only pion peer; addMedia adds its audio before
// the offer is made.
func newPeerWith(t *testing.T, addMedia func(*webrtc.PeerConnection) error) *peer {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	// Keys as RFC 4733 events, as browsers offer them.
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{PayloadType: 101,
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/telephone-event", ClockRate: 8000, SDPFmtpLine: "0-16"}},
		webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	connected, once := make(chan struct{}), sync.Once{}
	settled, settleOnce := make(chan struct{}), sync.Once{}
	t.Cleanup(func() {
		// pion v3 races when a peer is closed just as its ICE checks
		// succeed (ICETransport.Start sets its mux while stop reads it
		// unlocked): a peer whose checks are under way finishes them
		// first. This wait is no measure; it only keeps the two apart.
		if pc.ICEConnectionState() == webrtc.ICEConnectionStateChecking {
			select {
			case <-settled:
			case <-time.After(10 * time.Second):
			}
		}
		pc.Close()
	})
	pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		if st == webrtc.ICEConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	// Connected (DTLS too) comes once ICETransport.Start returned.
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st != webrtc.PeerConnectionStateNew && st != webrtc.PeerConnectionStateConnecting {
			settleOnce.Do(func() { close(settled) })
		}
	})
	if err := addMedia(pc); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(patience):
		t.Fatal("ICE gathering did not complete")
	}
	return &peer{pc: pc, offer: pc.LocalDescription().SDP, connected: connected}
}

func (p *peer) answer(t *testing.T, sdp string) {
	t.Helper()
	if sdp == "" {
		return
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		t.Fatalf("apply the answer: %v", err)
	}
}

func isType(typ string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["type"] == typ }
}

// TestPresenceAndActiveCalls drives real calls from the widget and watches
// them through the API: active calls, presence with its sequence, the call
// log record each becomes; then Bob's do-not-disturb, set through the API,
// reaches his widget and the switch, and survives a restart.
func TestPresenceAndActiveCalls(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	ctx, stop := context.WithCancel(context.Background())
	// The calls ring until the test hangs up: no ring timeout may end them first.
	srv, done := runUntil(t, ctx, Config{DataDir: dataDir, APIRateLimit: 10000, RingTimeout: time.Hour})
	alice, bob := newPlatform(t, srv, "alice@demo.test"), newPlatform(t, srv, "bob@demo.test")
	bobID := bob.extensionID()
	aliceTab, bobTab := openTab(t, srv, "alice@demo.test"), openTab(t, srv, "bob@demo.test")

	// A call to the test line that rings until it is hung up.
	media := newPeer(t)
	call := aliceTab.dial(t, "+15550107", media)
	ev := aliceTab.waitFor(t, "rc-active-call-notify", isType("rc-active-call-notify"))
	active := alice.get("/account/~/extension/~/active-calls")
	got := records(t, active)
	if len(got) != 1 || got[0]["telephonySessionId"] != call["telephonySessionId"] || got[0]["sessionId"] != call["sessionId"] ||
		got[0]["id"] != call["partyId"] || got[0]["result"] != "In Progress" || got[0]["direction"] != "Outbound" ||
		got[0]["to"].(map[string]any)["phoneNumber"] != "+15550107" || num(active["paging"].(map[string]any)["totalElements"]) != 1 {
		t.Fatalf("active calls %v, call %v", active, call)
	}
	if r := alice.get("/account/~/extension/~/active-calls?direction=Inbound"); len(records(t, r)) != 0 {
		t.Fatalf("inbound active calls %v", r)
	}
	wantAPIError(t, alice.call("GET", "/account/~/extension/~/active-calls?perPage=0", ""), 400, "InvalidParameter", "perPage")
	p := alice.get("/account/~/extension/~/presence?detailedTelephonyState=true")
	calls, _ := p["activeCalls"].([]any)
	seq := int64(ev["call"].(map[string]any)["sequence"].(float64))
	if p["telephonyStatus"] != "Ringing" || p["presenceStatus"] != "Busy" || p["userStatus"] != "Available" || p["dndStatus"] != "TakeAllCalls" ||
		int64(p["sequence"].(float64)) < seq || len(calls) != 1 || calls[0].(map[string]any)["telephonySessionId"] != call["telephonySessionId"] ||
		calls[0].(map[string]any)["telephonyStatus"] != "Ringing" || calls[0].(map[string]any)["to"] != "+15550107" {
		t.Fatalf("presence %v (event sequence %d)", p, seq)
	}
	if p := alice.get("/account/~/extension/~/presence"); p["activeCalls"] != nil {
		t.Fatalf("presence without detailedTelephonyState lists calls: %v", p)
	}
	wantAPIError(t, alice.call("GET", "/account/~/extension/~/presence?detailedTelephonyState=yes", ""), 400, "InvalidParameter", "detailedTelephonyState")

	media.waitConnected(t)
	aliceTab.hangup(t, call["id"].(string))
	if got := records(t, alice.get("/account/~/extension/~/active-calls")); len(got) != 0 {
		t.Fatalf("active calls after hang-up: %v", got)
	}
	after := alice.get("/account/~/extension/~/presence")
	if after["telephonyStatus"] != "NoCall" || after["presenceStatus"] != "Available" || int64(after["sequence"].(float64)) <= int64(p["sequence"].(float64)) {
		t.Fatalf("presence after hang-up %v", after)
	}
	record := waitRecord(t, alice, call["partyId"].(string))
	if record["telephonySessionId"] != call["telephonySessionId"] || record["sessionId"] != call["sessionId"] || record["result"] != "Canceled" ||
		record["action"] != "Phone Call" {
		t.Fatalf("call-log record %v of call %v", record, call)
	}

	// Bob takes no calls: his widget and his state say so; calls to him
	// fail with 480, as his answering rule takes no message.
	if r := bob.call("PUT", "/account/~/extension/~/answering-rule", `{"noAnswer": {"action": "Disconnect"}}`); r.StatusCode != http.StatusOK {
		t.Fatalf("PUT answering rule: %d %s", r.StatusCode, r.body)
	}
	r := bob.call("PUT", "/account/~/extension/~/presence", `{"userStatus": "Busy", "dndStatus": "DoNotAcceptAnyCalls"}`)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("PUT presence: %d %s", r.StatusCode, r.body)
	}
	if m := r.json(t); m["userStatus"] != "Busy" || m["dndStatus"] != "DoNotAcceptAnyCalls" || m["presenceStatus"] != "Busy" || m["telephonyStatus"] != "NoCall" {
		t.Fatalf("PUT presence answered %v", m)
	}
	sync := bobTab.waitFor(t, "rc-adapter-syncPresence with DND", func(m map[string]any) bool {
		return m["type"] == "rc-adapter-syncPresence" && m["dndStatus"] == "DoNotAcceptAnyCalls"
	})
	if sync["userStatus"] != "Busy" || sync["presenceStatus"] != "Busy" || sync["telephonyStatus"] != "NoCall" {
		t.Fatalf("syncPresence %v", sync)
	}
	st := do(t, bobTab.c, "GET", srv.WidgetURL+"/widget/state", nil, "X-Callbridge", "1", "X-Callbridge-Client", "demo").json(t)
	if pr := st["presence"].(map[string]any); pr["dndStatus"] != "DoNotAcceptAnyCalls" || pr["userStatus"] != "Busy" {
		t.Fatalf("Bob's widget state %v", st)
	}
	if p := alice.get(fmt.Sprintf("/account/~/extension/%d/presence", bobID)); p["dndStatus"] != "DoNotAcceptAnyCalls" {
		t.Fatalf("Bob's presence for the admin %v", p)
	}
	failed := aliceTab.dial(t, "102", nil)
	if failed["result"] != "Failed" || num(failed["code"]) != 480 || failed["reason"] != "Temporarily Unavailable" {
		t.Fatalf("call to Bob in do-not-disturb: %v", failed)
	}
	if m := recordOfSession(t, bob, failed["telephonySessionId"].(string)); m["result"] != "Missed" || m["direction"] != "Inbound" {
		t.Fatalf("Bob's record of the declined call %v", m)
	}

	// Body errors of PUT.
	const presence = "/account/~/extension/~/presence"
	wantAPIError(t, bob.call("PUT", presence, `{"userStatus": "Sleeping"}`), 400, "InvalidParameter", "userStatus")
	wantAPIError(t, bob.call("PUT", presence, `{"dndStatus": 1}`), 400, "InvalidParameter", "dndStatus")
	wantAPIError(t, bob.call("PUT", presence, `{"userStatus": "Busy", "mood": "great"}`), 400, "InvalidParameter", "mood")
	wantAPIError(t, bob.call("PUT", presence, `{"userStatus": `), 400, "InvalidJSON", "")
	wantAPIError(t, bob.call("PUT", presence, ``), 400, "InvalidJSON", "")
	wantAPIError(t, bob.call("PUT", presence, `{"userStatus": "`+strings.Repeat("x", 70<<10)+`"}`), http.StatusRequestEntityTooLarge, "RequestTooLarge", "")
	r = do(t, bob.c, "PUT", bob.base+presence, strings.NewReader(`userStatus=Busy`), "Authorization", "Bearer "+bob.token,
		"Content-Type", "application/x-www-form-urlencoded")
	wantAPIError(t, r, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "")

	// A restart keeps Bob's do-not-disturb, in the API and in the switch.
	stop()
	if err := <-done; err != nil {
		t.Fatalf("server: %v", err)
	}
	srv2, _ := runUntil(t, context.Background(), Config{DataDir: dataDir, APIRateLimit: 10000, RingTimeout: time.Hour})
	alice.base, bob.base = srv2.WidgetURL+"/restapi/v1.0", srv2.WidgetURL+"/restapi/v1.0"
	if p := bob.get(presence); p["dndStatus"] != "DoNotAcceptAnyCalls" || p["userStatus"] != "Busy" {
		t.Fatalf("presence after a restart %v", p)
	}
	aliceTab.srv, bobTab.srv = srv2, srv2
	aliceTab.listen(t)
	bobTab.listen(t)
	if failed := aliceTab.dial(t, "102", nil); num(failed["code"]) != 480 {
		t.Fatalf("call to Bob in do-not-disturb after a restart: %v", failed)
	}

	// Do-not-disturb off: calls ring Bob again.
	if r := bob.call("PUT", presence, `{"dndStatus": "TakeAllCalls"}`); r.StatusCode != http.StatusOK || r.json(t)["userStatus"] != "Busy" {
		t.Fatalf("PUT presence: %d %s", r.StatusCode, r.body)
	}
	bobTab.waitFor(t, "rc-adapter-syncPresence taking calls", func(m map[string]any) bool {
		return m["type"] == "rc-adapter-syncPresence" && m["dndStatus"] == "TakeAllCalls" && m["userStatus"] == "Busy"
	})
	media = newPeer(t)
	ringing := aliceTab.dial(t, "102", media)
	bobTab.waitFor(t, "rc-call-ring-notify", func(m map[string]any) bool {
		c, _ := m["call"].(map[string]any)
		return m["type"] == "rc-call-ring-notify" && c["telephonySessionId"] == ringing["telephonySessionId"]
	})
	if got := records(t, bob.get("/account/~/extension/~/active-calls")); len(got) != 1 || got[0]["direction"] != "Inbound" ||
		got[0]["telephonySessionId"] != ringing["telephonySessionId"] || got[0]["action"] != "VoIP Call" {
		t.Fatalf("Bob's active calls while ringing %v", got)
	}
	media.waitConnected(t)
	aliceTab.hangup(t, ringing["id"].(string))
}

// recordOfSession waits for the extension's call-log record of a session.
func recordOfSession(t *testing.T, p *platform, telephonySessionID string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		for _, r := range records(t, p.get("/account/~/extension/~/call-log")) {
			if r["telephonySessionId"] == telephonySessionID {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no record of session %s", telephonySessionID)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitRecord waits for the switch to write a call-log record and returns it.
func waitRecord(t *testing.T, p *platform, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		r := p.call("GET", "/account/~/extension/~/call-log/"+id, "")
		if r.StatusCode == http.StatusOK {
			return r.json(t)
		}
		if r.StatusCode != http.StatusNotFound || time.Now().After(deadline) {
			t.Fatalf("record %s: %d %s", id, r.StatusCode, r.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// docsSeeders prepare what the examples of docs/api-*.md refer to; each
// returns the variables ($NAME) its examples use.
var docsSeeders []func(t *testing.T, srv *instance, admin *platform) map[string]string

// curlBlock finds the runnable examples of docs/api*.md: fenced blocks whose
// info string is "sh test".
var curlBlock = regexp.MustCompile("(?s)```sh test\n(.*?)```")

// TestDocsCurlExamples runs every curl command of docs/api.md's "sh test"
// blocks against a real server, with $TOKEN an administrator's access
// token and $CALL_ID a record of their call log: each must answer 2xx
// with JSON.
func TestDocsCurlExamples(t *testing.T) {
	t.Parallel()
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatalf("curl is needed to run the examples of docs/api.md and was not found in PATH: %v", err)
	}
	files, err := filepath.Glob("../../docs/api*.md")
	if err != nil || len(files) == 0 {
		t.Fatalf("no docs/api*.md: %v", err)
	}
	var commands []string
	for _, f := range files {
		doc, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range curlBlock.FindAllStringSubmatch(string(doc), -1) {
			for _, cmd := range strings.Split(strings.ReplaceAll(m[1], "\\\n", " "), "\n") {
				if cmd = strings.TrimSpace(cmd); cmd != "" && !strings.HasPrefix(cmd, "#") {
					commands = append(commands, cmd)
				}
			}
		}
	}
	if len(commands) < 10 {
		t.Fatalf("only %d runnable examples in docs/api.md", len(commands))
	}

	srv := startServer(t, Config{APIRateLimit: 10000})
	admin := newPlatform(t, srv, "alice@demo.test")
	seedCallLog(t, srv, []telephony.CallRecord{{ID: "p-docs1", Extension: admin.extensionID(), SessionID: "1", TelephonySessionID: "s-docs1",
		PartyID: "p-docs1", StartTime: time.Now().Add(-time.Hour), Duration: 61 * time.Second, Direction: telephony.Outbound,
		From: aliceEP, To: bobEP, Type: "Voice", Action: "VoIP Call", Result: telephony.ResultConnected}})
	vars := map[string]string{"TOKEN": admin.token, "CALL_ID": "p-docs1"}
	for _, seed := range docsSeeders {
		maps.Copy(vars, seed(t, srv, admin))
	}
	base := strings.Replace(srv.WidgetURL, "localhost", "127.0.0.1", 1)

	covered := map[string]bool{}
	for _, cmd := range commands {
		args, err := shellWords(cmd, vars)
		if err != nil {
			t.Errorf("%s: %v", cmd, err)
			continue
		}
		if args[0] != "curl" {
			t.Errorf("%s: only curl commands may be in an \"sh test\" block", cmd)
			continue
		}
		for i, a := range args {
			if strings.HasPrefix(a, "http://localhost:8080") {
				args[i] = base + strings.TrimPrefix(a, "http://localhost:8080")
				u, _ := url.Parse(a)
				covered[u.Path] = true
			}
		}
		out, err := exec.Command(curl, append(args[1:], "--show-error", "--max-time", "10", "--write-out", "\n%{http_code}")...).CombinedOutput()
		body, status, _ := cutLast(string(out), "\n")
		if err != nil || !strings.HasPrefix(status, "2") || !json.Valid([]byte(body)) {
			t.Errorf("%s\n  status %s, err %v:\n%s", cmd, status, err, out)
		}
	}
	for _, path := range []string{"/restapi/openapi.json", "/restapi/v1.0/account/~/extension/~", "/restapi/v1.0/account/~/extension/~/call-log",
		"/restapi/v1.0/account/~/call-log", "/restapi/v1.0/account/~/extension/~/active-calls", "/restapi/v1.0/account/~/extension/~/presence"} {
		if !covered[path] {
			t.Errorf("docs/api.md has no runnable example of %s", path)
		}
	}
}

func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// shellWords splits a command line as sh does for the simple commands of
// the docs: blanks separate words, single quotes keep everything, double
// quotes keep blanks, and $NAME or ${NAME} outside single quotes is one of
// vars (an unknown one is an error).
func shellWords(line string, vars map[string]string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words, inWord = append(words, cur.String()), false
				cur.Reset()
			}
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated single quote")
			}
			cur.WriteString(line[i+1 : i+1+j])
			i, inWord = i+1+j, true
		case c == '"':
			j := i + 1
			for ; j < len(line) && line[j] != '"'; j++ {
				switch {
				case line[j] == '\\' && j+1 < len(line) && strings.IndexByte(`"\$`, line[j+1]) >= 0:
					j++
					cur.WriteByte(line[j])
				case line[j] == '$':
					n, v, err := expand(line[j:], vars)
					if err != nil {
						return nil, err
					}
					cur.WriteString(v)
					j += n - 1
				default:
					cur.WriteByte(line[j])
				}
			}
			if j >= len(line) {
				return nil, fmt.Errorf("unterminated double quote")
			}
			i, inWord = j, true
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			inWord = true
		case c == '$':
			n, v, err := expand(line[i:], vars)
			if err != nil {
				return nil, err
			}
			cur.WriteString(v)
			i, inWord = i+n-1, true
		case strings.IndexByte("|;&<>`()", c) >= 0:
			return nil, fmt.Errorf("%q: only simple commands are supported", c)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("empty command")
	}
	return words, nil
}

var varName = regexp.MustCompile(`^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))`)

// expand reads $NAME or ${NAME} at the start of s: how many bytes, and the value.
func expand(s string, vars map[string]string) (int, string, error) {
	m := varName.FindStringSubmatch(s)
	if m == nil {
		return 0, "", fmt.Errorf("a lone $ in %q", s)
	}
	name := m[1] + m[2]
	v, ok := vars[name]
	if !ok {
		return 0, "", fmt.Errorf("$%s is not set by the test or a docsSeeder", name)
	}
	return len(m[0]), v, nil
}
