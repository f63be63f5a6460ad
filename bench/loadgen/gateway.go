package main

import (
	"context"
	"fmt"
	"time"

	"github.com/pion/dtls/v2"

	"github.com/callbridge/widget-server/bench/internal/peer"
	"github.com/callbridge/widget-server/bench/internal/target"
	"github.com/callbridge/widget-server/bench/internal/widget"
)

// tab is one widget tab placing or answering calls: signed in, with its
// event stream open and its device registered.
type tab struct {
	user   target.User
	device string
	w      *widget.Client
	rings  chan string // ids of calls ringing on this device
}

// call is one two-party call through the gateway.
type call struct {
	caller, callee *peer.Leg
}

func (c *call) established() bool { return c.caller.Got() && c.callee.Got() }

// signIn prepares a tab: widget session, sign-in, a device issued to it,
// event stream with that device.
func signIn(ctx context.Context, srv *target.Server, u target.User) (*tab, error) {
	p := &tab{user: u, w: widget.New(srv.URL, srv.DemoURL), rings: make(chan string, 4)}
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := p.w.SignIn(sctx, u.Email, u.Password); err != nil {
		return nil, err
	}
	device, err := p.w.NewDevice(sctx)
	if err != nil {
		return nil, err
	}
	p.device = device
	if _, err := p.w.Events(ctx, device, func(ev widget.Event) {
		if ev.Type == "rc-call-ring-notify" && ev.To == device {
			select {
			case p.rings <- ev.Call.ID:
			default:
			}
		}
	}); err != nil {
		return nil, err
	}
	return p, nil
}

// placeCall runs the signalling of one call: the caller dials the callee's
// extension, the callee's stream rings, the callee answers; both legs
// connect to the gateway.
func placeCall(ctx context.Context, caller, callee *tab, profiles []dtls.SRTPProtectionProfile, sched *scheduler) (*call, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	a, offer, err := peer.New(profiles, sched.received)
	if err != nil {
		return nil, fmt.Errorf("caller leg: %w", err)
	}
	_, answer, err := caller.w.Dial(ctx, caller.device, callee.user.Number, offer)
	if err != nil {
		a.Close()
		return nil, err
	}
	if err := a.Answer(ctx, answer); err != nil {
		a.Close()
		return nil, fmt.Errorf("caller: %w", err)
	}
	var id string
	select {
	case id = <-callee.rings:
	case <-ctx.Done():
		a.Close()
		return nil, fmt.Errorf("callee %s never rang", callee.user.Number)
	}
	b, offer, err := peer.New(profiles, sched.received)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("callee leg: %w", err)
	}
	answer, err = callee.w.Answer(ctx, callee.device, id, offer)
	if err == nil {
		err = b.Answer(ctx, answer)
	}
	if err != nil {
		a.Close()
		b.Close()
		return nil, fmt.Errorf("answer: %w", err)
	}
	return &call{caller: a, callee: b}, nil
}

// legSender makes a leg an endpoint of the scheduler.
type legSender struct{ l *peer.Leg }

func (s legSender) send(payload []byte) bool { return s.l.Send(payload) }
