package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/callbridge/widget-server/bench/internal/peer"
	"github.com/callbridge/widget-server/bench/internal/target"
)

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
