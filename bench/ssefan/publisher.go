package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/callbridge/widget-server/bench/internal/peer"
	"github.com/callbridge/widget-server/bench/internal/target"
	"github.com/callbridge/widget-server/bench/internal/widget"
)

// publisher is the tab whose call state changes are broadcast.
type publisher struct {
	w      *widget.Client
	device string
	callID string
	leg    *peer.Leg
	muted  bool
}

func newPublisher(ctx context.Context, srv *target.Server, u target.User) (*publisher, error) {
	p := &publisher{w: widget.New(srv.URL, srv.DemoURL)}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.w.SignIn(sctx, u.Email, u.Password); err != nil {
		return nil, err
	}
	var err error
	if p.device, err = p.w.NewDevice(sctx); err != nil {
		return nil, err
	}
	connected := make(chan struct{})
	var once sync.Once
	if _, err := p.w.Events(ctx, p.device, func(ev widget.Event) {
		if ev.Type == "rc-active-call-notify" && ev.Call.TelephonyStatus == "CallConnected" {
			once.Do(func() { close(connected) })
		}
	}); err != nil {
		return nil, err
	}
	leg, offer, err := peer.New(nil, nil)
	if err != nil {
		return nil, err
	}
	p.leg = leg
	call, answer, err := p.w.Dial(sctx, p.device, "+15550101", offer)
	if err != nil {
		leg.Close()
		return nil, err
	}
	p.callID = call.ID
	if err := leg.Answer(sctx, answer); err != nil {
		leg.Close()
		return nil, err
	}
	select {
	case <-connected:
	case <-sctx.Done():
		leg.Close()
		return nil, errors.New("the echo line did not answer")
	}
	return p, nil
}

// toggleFor toggles mute rate times a second for d and returns how many
// toggles the server accepted.
func (p *publisher) toggleFor(ctx context.Context, rate float64, d time.Duration) (int, error) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	end := time.After(d)
	n := 0
	for {
		select {
		case <-ctx.Done():
			return n, ctx.Err()
		case <-end:
			return n, nil
		case <-tick.C:
		}
		action := "mute"
		if p.muted {
			action = "unmute"
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := p.w.Control(cctx, p.device, p.callID, action)
		cancel()
		if err != nil {
			return n, err
		}
		p.muted = !p.muted
		n++
	}
}

func (p *publisher) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.w.Control(ctx, p.device, p.callID, "hangup")
	p.leg.Close()
}
