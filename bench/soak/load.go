package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/callbridge/widget-server/bench/internal/peer"
	"github.com/callbridge/widget-server/bench/internal/target"
	"github.com/callbridge/widget-server/bench/internal/widget"
)

// loadRun is the mixed load: every worker loops until its context ends.
type loadRun struct {
	srv   *target.Server
	users []target.User
	ops   *ops
	cfg   config

	mu      sync.Mutex
	clients []*http.Client // every client made, to close its idle connections at the end
}

// newWidget is a new widget tab's HTTP side.
func (l *loadRun) newWidget() *widget.Client {
	w := widget.New(l.srv.URL, l.srv.DemoURL)
	l.track(w.HTTP)
	return w
}

func (l *loadRun) track(c *http.Client) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clients = append(l.clients, c)
}

// closeIdle closes the idle keep-alive connections of every client, so
// that what the server holds after the load is its own.
func (l *loadRun) closeIdle() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.clients {
		c.CloseIdleConnections()
	}
}

func (l *loadRun) run(ctx context.Context) {
	var wg sync.WaitGroup
	start := func(f func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(ctx)
		}()
	}
	n := len(l.users)
	for i := range l.cfg.pairs {
		caller, callee := l.users[(2*i)%n], l.users[(2*i+1)%n]
		start(func(ctx context.Context) { l.callPair(ctx, caller, callee) })
	}
	start(l.logins)
	for i := range l.cfg.apiWorkers {
		u := l.users[i%n]
		start(func(ctx context.Context) { l.apiWorker(ctx, u) })
	}
	for i := range l.cfg.streams {
		u := l.users[(i+1)%n]
		start(func(ctx context.Context) { l.streamChurn(ctx, u) })
	}
	start(func(ctx context.Context) { l.messages(ctx, l.users[0], l.users[1%n]) })
	wg.Wait()
}

// ops counts the outcome of each kind of operation.
type ops struct {
	mu sync.Mutex
	m  map[string]*OpResult
}

// OpResult is how one kind of operation went.
type OpResult struct {
	Name      string `json:"name"`
	OK        int    `json:"ok"`
	Failed    int    `json:"failed"`
	LastError string `json:"last_error,omitempty"`
}

func newOps() *ops { return &ops{m: map[string]*OpResult{}} }

// done records an outcome; one cut short by the end of the load is not.
func (o *ops) done(ctx context.Context, name string, err error) bool {
	if err != nil && ctx.Err() != nil {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.m[name]
	if r == nil {
		r = &OpResult{Name: name}
		o.m[name] = r
	}
	if err != nil {
		r.Failed++
		r.LastError = err.Error()
		return false
	}
	r.OK++
	return true
}

func (o *ops) results() []OpResult {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []OpResult
	for _, r := range o.m {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b OpResult) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (o *ops) brief() string {
	ok, failed := 0, 0
	for _, r := range o.results() {
		ok, failed = ok+r.OK, failed+r.Failed
	}
	return fmt.Sprintf(" ops %d ok, %d failed", ok, failed)
}

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(mrand.Int64N(int64(hi-lo)))
}

// tab is a signed-in widget tab with its event stream open, so that its
// device rings.
type tab struct {
	user   target.User
	w      *widget.Client
	device string
	rings  chan string
	cancel context.CancelFunc
	done   <-chan struct{}
}

func (l *loadRun) openTab(ctx context.Context, u target.User) (*tab, error) {
	t := &tab{user: u, w: l.newWidget(), rings: make(chan string, 8)}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := t.w.SignIn(sctx, u.Email, u.Password); err != nil {
		return nil, err
	}
	var err error
	if t.device, err = t.w.NewDevice(sctx); err != nil {
		return nil, err
	}
	return t, t.stream(ctx)
}

// streamNewDevice opens an event stream of w with a device newly issued to
// it, as a new widget tab of the session does, and returns when the stream
// has ended.
func streamNewDevice(ctx context.Context, w *widget.Client) error {
	device, err := w.NewDevice(ctx)
	if err != nil {
		return err
	}
	done, err := w.Events(ctx, device, func(widget.Event) {})
	if err != nil {
		return err
	}
	<-done
	return nil
}

// stream (re)opens the tab's event stream.
func (t *tab) stream(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	done, err := t.w.Events(sctx, t.device, func(ev widget.Event) {
		if ev.Type == "rc-call-ring-notify" && ev.To == t.device {
			select {
			case t.rings <- ev.Call.ID:
			default:
			}
		}
	})
	if err != nil {
		cancel()
		return err
	}
	t.cancel, t.done = cancel, done
	return nil
}

// alive reopens the stream if the server ended it.
func (t *tab) alive(ctx context.Context) error {
	select {
	case <-t.done:
		t.cancel()
		return t.stream(ctx)
	default:
		return nil
	}
}

func (t *tab) close() {
	t.cancel()
	<-t.done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	widgetJSON(ctx, t.w, "POST", "/widget/logout", nil, nil)
}

// callPair keeps two users calling: each other (both legs with audio), the
// echo test line, and the busy one. (The tone line speaks PCMU, which the
// load tools' Opus-only clients do not offer.)
func (l *loadRun) callPair(ctx context.Context, a, b target.User) {
	var caller, callee *tab
	for ctx.Err() == nil && (caller == nil || callee == nil) {
		var err error
		if caller == nil {
			caller, err = l.openTab(ctx, a)
			l.ops.done(ctx, "sign in (call tab)", err)
		}
		if callee == nil && err == nil {
			callee, err = l.openTab(ctx, b)
			l.ops.done(ctx, "sign in (call tab)", err)
		}
		if err != nil {
			pause(ctx, time.Second)
		}
	}
	defer func() {
		if caller != nil {
			caller.close()
		}
		if callee != nil {
			callee.close()
		}
	}()
	for ctx.Err() == nil {
		if err := errors.Join(caller.alive(ctx), callee.alive(ctx)); !l.ops.done(ctx, "event stream reopened when ended", err) && err != nil {
			pause(ctx, time.Second)
			continue
		}
		l.ops.done(ctx, "call: two widget users, audio both ways", twoPartyCall(ctx, caller, callee))
		l.ops.done(ctx, "call: echo test line, audio back", testLineCall(ctx, caller, "+15550101"))
		l.ops.done(ctx, "call: busy test line", failingCall(ctx, callee, "+15550102"))
		pause(ctx, 500*time.Millisecond)
	}
}

// talk sends 20 ms packets on every leg for d and reports whether each got
// audio back.
func talk(ctx context.Context, d time.Duration, legs ...*peer.Leg) error {
	payload := make([]byte, 80)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	end := time.After(d)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-end:
			for i, l := range legs {
				if !l.Got() {
					return fmt.Errorf("leg %d received no audio in %v", i+1, d)
				}
			}
			return nil
		case <-tick.C:
			for _, l := range legs {
				l.Send(payload)
			}
		}
	}
}

func twoPartyCall(ctx context.Context, caller, callee *tab) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for drained := false; !drained; {
		select {
		case <-callee.rings:
		default:
			drained = true
		}
	}
	a, offer, err := peer.New(nil, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	call, answer, err := caller.w.Dial(ctx, caller.device, callee.user.Number, offer)
	if err != nil {
		return err
	}
	hangup := func() error { return caller.w.Control(ctx, caller.device, call.ID, "hangup") }
	if err := a.Answer(ctx, answer); err != nil {
		return errors.Join(fmt.Errorf("caller leg: %w", err), hangup())
	}
	var id string
	select {
	case id = <-callee.rings:
	case <-ctx.Done():
		return errors.Join(errors.New("the callee never rang"), hangup())
	}
	b, offer, err := peer.New(nil, nil)
	if err != nil {
		return errors.Join(err, hangup())
	}
	defer b.Close()
	answer, err = callee.w.Answer(ctx, callee.device, id, offer)
	if err == nil {
		err = b.Answer(ctx, answer)
	}
	if err != nil {
		return errors.Join(fmt.Errorf("answer: %w", err), hangup())
	}
	return errors.Join(talk(ctx, between(3*time.Second, 10*time.Second), a, b), hangup())
}

func testLineCall(ctx context.Context, t *tab, number string) error {
	ctx, cancel := context.WithTimeout(ctx, 40*time.Second)
	defer cancel()
	leg, offer, err := peer.New(nil, nil)
	if err != nil {
		return err
	}
	defer leg.Close()
	call, answer, err := t.w.Dial(ctx, t.device, number, offer)
	if err != nil {
		return err
	}
	hangup := func() error { return t.w.Control(ctx, t.device, call.ID, "hangup") }
	if err := leg.Answer(ctx, answer); err != nil {
		return errors.Join(err, hangup())
	}
	return errors.Join(talk(ctx, between(3*time.Second, 8*time.Second), leg), hangup())
}

// failingCall dials a test number that fails; the call must be accepted and
// then end on its own.
func failingCall(ctx context.Context, t *tab, number string) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	leg, offer, err := peer.New(nil, nil)
	if err != nil {
		return err
	}
	defer leg.Close()
	if _, _, err := t.w.Dial(ctx, t.device, number, offer); err != nil {
		return err
	}
	pause(ctx, 1500*time.Millisecond) // it rings, then is busy
	return nil
}

// logins signs users in and out, as the widget does and as a CRM server
// does, one after another.
func (l *loadRun) logins(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		u := l.users[i%len(l.users)]
		w := l.newWidget()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if l.ops.done(ctx, "sign in (widget popup flow)", w.SignIn(sctx, u.Email, u.Password)) {
			l.ops.done(ctx, "widget state", widgetJSON(sctx, w, "GET", "/widget/state", nil, nil))
			streamCtx, stop := context.WithTimeout(sctx, between(time.Second, 3*time.Second))
			l.ops.done(ctx, "event stream of a new tab", streamNewDevice(streamCtx, w))
			stop()
			l.ops.done(ctx, "sign out (widget)", widgetJSON(sctx, w, "POST", "/widget/logout", nil, nil))
		}
		tok, err := apiToken(sctx, l.srv.URL, u)
		if l.ops.done(ctx, "sign in (authorization code + PKCE)", err) {
			l.track(tok.c)
			l.ops.done(ctx, "api: extension", tok.get(sctx, "/restapi/v1.0/account/~/extension/~"))
			l.ops.done(ctx, "revoke token", tok.revoke(sctx))
		}
		cancel()
		pause(ctx, time.Second)
	}
}

// apiWorker reads through the platform API and changes presence.
func (l *loadRun) apiWorker(ctx context.Context, u target.User) {
	var tok *token
	for ctx.Err() == nil && tok == nil {
		var err error
		tok, err = apiToken(ctx, l.srv.URL, u)
		if !l.ops.done(ctx, "sign in (authorization code + PKCE)", err) {
			pause(ctx, time.Second)
		} else {
			l.track(tok.c)
		}
	}
	statuses := []string{"Available", "Busy", "Offline"}
	for i := 0; ctx.Err() == nil; i++ {
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		l.ops.done(ctx, "api: extension", tok.get(rctx, "/restapi/v1.0/account/~/extension/~"))
		l.ops.done(ctx, "api: call log", tok.get(rctx, "/restapi/v1.0/account/~/extension/~/call-log?perPage=20"))
		l.ops.done(ctx, "api: active calls", tok.get(rctx, "/restapi/v1.0/account/~/extension/~/active-calls"))
		l.ops.done(ctx, "api: presence", tok.get(rctx, "/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true"))
		l.ops.done(ctx, "api: set presence", tok.put(rctx, "/restapi/v1.0/account/~/extension/~/presence",
			map[string]string{"userStatus": statuses[i%len(statuses)]}))
		cancel()
		pause(ctx, 250*time.Millisecond)
	}
}

// streamChurn opens event streams of a signed-in tab, each for a random
// while, one after another, each with a new device issued to the session.
func (l *loadRun) streamChurn(ctx context.Context, u target.User) {
	var w *widget.Client
	for ctx.Err() == nil && w == nil {
		c := l.newWidget()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if l.ops.done(ctx, "sign in (stream tab)", c.SignIn(sctx, u.Email, u.Password)) {
			w = c
		} else {
			pause(ctx, time.Second)
		}
		cancel()
	}
	for ctx.Err() == nil {
		sctx, cancel := context.WithTimeout(ctx, between(500*time.Millisecond, 8*time.Second))
		l.ops.done(ctx, "event stream opened and closed", streamNewDevice(sctx, w))
		cancel()
		pause(ctx, 200*time.Millisecond)
	}
	if w != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		widgetJSON(sctx, w, "POST", "/widget/logout", nil, nil)
		cancel()
	}
}

// messages sends pager messages from one user to another and lists them.
func (l *loadRun) messages(ctx context.Context, from, to target.User) {
	var w *widget.Client
	for ctx.Err() == nil && w == nil {
		c := l.newWidget()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if l.ops.done(ctx, "sign in (messages tab)", c.SignIn(sctx, from.Email, from.Password)) {
			w = c
		} else {
			pause(ctx, time.Second)
		}
		cancel()
	}
	for i := 0; ctx.Err() == nil; i++ {
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		l.ops.done(ctx, "message: send pager", widgetJSON(rctx, w, "POST", "/widget/messages",
			map[string]any{"type": "Pager", "to": []string{to.Number}, "text": fmt.Sprintf("soak %d", i)}, nil))
		l.ops.done(ctx, "message: list", widgetJSON(rctx, w, "GET", "/widget/messages?perPage=20", nil, nil))
		cancel()
		pause(ctx, time.Second)
	}
}

// widgetJSON calls a widget endpoint as the widget's script does and wants 200.
func widgetJSON(ctx context.Context, w *widget.Client, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, w.Base+path, body)
	if err != nil {
		return err
	}
	w.SetHeaders(req.Header)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return doJSON(w.HTTP, req, out)
}

func doJSON(c *http.Client, req *http.Request, out any) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %.200s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// token is an access token of the platform API.
type token struct {
	base, access string
	c            *http.Client
}

// apiToken signs a user in as a CRM's server does: the authorization code
// flow with PKCE against the built-in authorization server.
func apiToken(ctx context.Context, base string, u target.User) (*token, error) {
	verifier := oauth2.GenerateVerifier()
	redirect := base + "/oauth/redirect"
	q := url.Values{
		"client_id": {"demo"}, "response_type": {"code"}, "redirect_uri": {redirect},
		"state": {"soak-" + verifier[:16]}, "scope": {"openid offline_access"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
	}
	loc, err := widget.Authorize(ctx, base+"/oauth/authorize?"+q.Encode(), u.Email, u.Password)
	if err != nil {
		return nil, err
	}
	lu, err := url.Parse(loc)
	if err != nil || lu.Query().Get("code") == "" {
		return nil, fmt.Errorf("no code in the redirect %q", loc)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {lu.Query().Get("code")},
		"client_id": {"demo"}, "redirect_uri": {redirect}, "code_verifier": {verifier}}
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	c := widget.NewHTTPClient()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := doJSON(c, req, &tok); err != nil {
		return nil, err
	}
	return &token{base: base, access: tok.AccessToken, c: c}, nil
}

func (t *token) get(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", t.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+t.access)
	return doJSON(t.c, req, nil)
}

func (t *token) put(ctx context.Context, path string, body any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, "PUT", t.base+path, strings.NewReader(string(b)))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+t.access)
	req.Header.Set("Content-Type", "application/json")
	return doJSON(t.c, req, nil)
}

// revoke ends the token (RFC 7009), as a CRM does when its user signs out.
func (t *token) revoke(ctx context.Context) error {
	form := url.Values{"token": {t.access}, "client_id": {"demo"}}
	req, err := http.NewRequestWithContext(ctx, "POST", t.base+"/oauth/revoke", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return doJSON(t.c, req, nil)
}
