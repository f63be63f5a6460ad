package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/callbridge/widget-server/bench/internal/bounded"
	"github.com/callbridge/widget-server/bench/internal/pace"
	"github.com/callbridge/widget-server/bench/internal/peer"
	"github.com/callbridge/widget-server/bench/internal/tabs"
	"github.com/callbridge/widget-server/bench/internal/target"
	"github.com/callbridge/widget-server/bench/internal/widget"
)

// tab is one widget tab that places one trunk call.
type tab struct {
	*tabs.Tab
	answered chan time.Time // when the stream said the call is connected
	failed   chan string    // the call failed, with its event
}

// call is one widget call out through the trunk.
type call struct {
	tab   *tab
	id    string
	leg   *peer.Leg
	setup time.Duration // POST /widget/calls → the stream says connected
}

// signIn opens u's tab, which hears of its call connecting or failing.
func signIn(ctx context.Context, srv *target.Server, u target.User) (*tab, error) {
	t := &tab{answered: make(chan time.Time, 1), failed: make(chan string, 1)}
	var err error
	t.Tab, err = tabs.Open(ctx, srv, u, func(_ *tabs.Tab, ev widget.Event) {
		switch {
		case ev.Type == "rc-active-call-notify" && ev.Call.TelephonyStatus == "CallConnected":
			select {
			case t.answered <- ev.At:
			default:
			}
		case ev.Type == "rc-call-failed-notify":
			select {
			case t.failed <- string(ev.Raw):
			default:
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// signInAll signs in the users that have no tab yet, a few at a time.
func signInAll(ctx context.Context, srv *target.Server, users []target.User, have []*tab) ([]*tab, error) {
	return tabs.OpenAll(ctx, users, have, 4, func(ctx context.Context, u target.User) (*tab, error) { return signIn(ctx, srv, u) })
}

// phoneNumber is the number call k dials: outside the load account (whose
// main number is +14155550100), so the server sends it to the trunk.
func phoneNumber(k int) string { return fmt.Sprintf("+1415555%04d", 2000+k) }

// dial places tab's call to number with a PCMU leg, and returns once the
// carrier has answered and the leg is connected.
func dial(ctx context.Context, t *tab, number string, onPacket func([]byte, time.Time)) (*call, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for len(t.answered) > 0 || len(t.failed) > 0 { // left from an earlier try
		select {
		case <-t.answered:
		case <-t.failed:
		}
	}
	leg, offer, err := peer.NewWith(peer.PCMU, nil, onPacket)
	if err != nil {
		return nil, fmt.Errorf("leg: %w", err)
	}
	started := time.Now()
	c, answer, err := t.W.Dial(ctx, t.Device, number, offer)
	if err != nil {
		leg.Close()
		return nil, err
	}
	out := &call{tab: t, id: c.ID, leg: leg}
	if err := leg.Answer(ctx, answer); err != nil {
		out.hangup()
		return nil, err
	}
	select {
	case at := <-t.answered:
		out.setup = at.Sub(started)
	case ev := <-t.failed:
		out.hangup()
		return nil, fmt.Errorf("call to %s failed: %.300s", number, ev)
	case <-ctx.Done():
		out.hangup()
		return nil, errors.New("the carrier never answered " + number)
	}
	return out, nil
}

// hangup ends the call as the widget does and closes its leg.
func (c *call) hangup() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = c.tab.W.Control(ctx, c.tab.Device, c.id, "hangup")
	c.leg.Close()
}

// placeAll gives every tab without a call one, starting a call every
// 1/rate seconds: tab k dials phoneNumber(k). Each call's leg joins the
// pacer once the carrier has answered.
func placeAll(ctx context.Context, tabs []*tab, calls []*call, rate float64, p *pace.Pacer) ([]*call, []error) {
	busy := map[*tab]bool{}
	for _, c := range calls {
		busy[c.tab] = true
	}
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	first := true
	for k, t := range tabs {
		if busy[t] {
			continue
		}
		if !first {
			select {
			case <-ctx.Done():
				wg.Wait()
				return calls, append(errs, ctx.Err())
			case <-tick.C:
			}
		}
		first = false
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dial(ctx, t, phoneNumber(k), p.Received)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("call %d: %w", k, err))
				return
			}
			calls = append(calls, c)
			p.Add(c.leg)
		}()
	}
	wg.Wait()
	return calls, errs
}

// hangupAll ends every call, a few at a time.
func hangupAll(calls []*call) {
	bounded.Do(len(calls), 8, func(i int) { calls[i].hangup() })
}
