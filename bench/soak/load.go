package main

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"time"

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
