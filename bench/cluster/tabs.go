package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callbridge/widget-server/bench/internal/bounded"
	"github.com/callbridge/widget-server/bench/internal/target"
	"github.com/callbridge/widget-server/bench/internal/widget"
)

// tab is user i's widget tab on node i % n: signed in there, with a device
// issued there and its event stream open there, and the user's listener
// streams (no device) on the nodes (i+k) % n.
type tab struct {
	user   target.User
	node   int
	w      *widget.Client
	device string
	// calls gets what the tab's stream says of its calls: ring, connected
	// and end, with the telephony session's id.
	calls chan callEvent

	// The presence change in flight (events.go).
	busy    bool         // the status its last change set; the picker's alone
	want    atomic.Value // "Busy" or "Available": the status in flight
	sentAt  atomic.Int64 // when the change in flight was sent (Unix ns)
	pending atomic.Int32 // its listeners that have yet to receive it
	via     atomic.Int32 // the node the change went through

	streams []<-chan struct{} // closed when a stream ends
}

// callEvent is one thing a tab's stream says of a call.
type callEvent struct {
	kind string // "ring", "connected", "end"
	id   string // telephony session id
	at   time.Time
}

// wire is the part of a stream's message the tool reads.
type wire struct {
	Type string `json:"type"`
	To   string `json:"_to"`
	Call struct {
		ID                 string `json:"id"`
		TelephonySessionID string `json:"telephonySessionId"`
		TelephonyStatus    string `json:"telephonyStatus"`
	} `json:"call"`
	UserStatus string `json:"userStatus"`
}

func (m *wire) sessionID() string {
	if m.Call.TelephonySessionID != "" {
		return m.Call.TelephonySessionID
	}
	return m.Call.ID
}

// onCallEvent passes what the tab's own stream says of its calls on.
func (t *tab) onCallEvent(ev widget.Event) {
	var m wire
	if json.Unmarshal(ev.Raw, &m) != nil {
		return
	}
	var kind string
	switch {
	case m.Type == "rc-call-ring-notify" && m.To == t.device:
		kind = "ring"
	case m.Type == "rc-active-call-notify" && m.Call.TelephonyStatus == "CallConnected":
		kind = "connected"
	case m.Type == "rc-call-end-notify" && m.To == t.device:
		kind = "end"
	default:
		return
	}
	select {
	case t.calls <- callEvent{kind: kind, id: m.sessionID(), at: ev.At}:
	default: // a tab has one call at a time: this does not fill
	}
}

// wait returns when the tab's stream says kind of call id.
func (t *tab) wait(ctx context.Context, kind, id string) (time.Time, error) {
	for {
		select {
		case ev := <-t.calls:
			if ev.kind == kind && ev.id == id {
				return ev.at, nil
			}
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%s %s of call %s: %w", t.user.Number, kind, id, ctx.Err())
		}
	}
}

// openTabs signs every user in on its node, a few at a time, with a device
// and its event stream, which runs until streamCtx ends.
func openTabs(ctx, streamCtx context.Context, cfg config, nodes []*node, users []target.User) ([]*tab, error) {
	out := make([]*tab, len(users))
	var mu sync.Mutex
	var first error
	bounded.Do(len(users), cfg.signInParallel, func(i int) {
		t, err := openTab(ctx, streamCtx, nodes, i, users[i])
		mu.Lock()
		defer mu.Unlock()
		if err != nil && first == nil {
			first = fmt.Errorf("sign in %s on node %d: %w", users[i].Email, i%len(nodes), err)
		}
		out[i] = t
	})
	return out, first
}

func openTab(ctx, streamCtx context.Context, nodes []*node, i int, u target.User) (*tab, error) {
	nd := nodes[i%len(nodes)]
	t := &tab{user: u, node: i % len(nodes), w: widget.New(nd.URL, nd.DemoURL), calls: make(chan callEvent, 64)}
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := t.w.SignIn(sctx, u.Email, u.Password); err != nil {
		return nil, err
	}
	device, err := t.w.NewDevice(sctx)
	if err != nil {
		return nil, err
	}
	t.device = device
	done, err := t.w.Events(streamCtx, device, t.onCallEvent)
	if err != nil {
		return nil, err
	}
	t.streams = append(t.streams, done)
	return t, nil
}

// on is the tab's session speaking to node nd: the same cookies (a cookie
// names no port, and every node opens every node's), the node's origin.
func (t *tab) on(nd *node) *widget.Client {
	c := *t.w
	c.Base = nd.URL
	return &c
}

// openListeners opens each user's listener streams: stream k of user i on
// node (i+k) % n, without a device, counting the user's presence changes.
func openListeners(streamCtx context.Context, tabs []*tab, nodes []*node, per int) error {
	var mu sync.Mutex
	var first error
	bounded.Do(len(tabs), 8, func(i int) {
		t := tabs[i]
		for k := range per {
			at := (i + k) % len(nodes)
			done, err := t.on(nodes[at]).Events(streamCtx, "", func(ev widget.Event) { t.onPresence(at, ev) })
			mu.Lock()
			if err != nil {
				if first == nil {
					first = fmt.Errorf("listener %d of %s on node %d: %w", k, t.user.Email, at, err)
				}
				mu.Unlock()
				return
			}
			t.streams = append(t.streams, done)
			mu.Unlock()
		}
	})
	return first
}

// streamsClosed counts the streams that ended before the step did:
// the tool does not reopen them, so a count above zero taints the step.
func streamsClosed(tabs []*tab) int {
	n := 0
	for _, t := range tabs {
		for _, done := range t.streams {
			select {
			case <-done:
				n++
			default:
			}
		}
	}
	return n
}
