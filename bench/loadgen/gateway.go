package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/dtls/v2"

	"github.com/callbridge/widget-server/bench/internal/bounded"
	"github.com/callbridge/widget-server/bench/internal/measure"
	"github.com/callbridge/widget-server/bench/internal/pace"
	"github.com/callbridge/widget-server/bench/internal/peer"
	"github.com/callbridge/widget-server/bench/internal/rawleg"
	"github.com/callbridge/widget-server/bench/internal/tabs"
	"github.com/callbridge/widget-server/bench/internal/target"
	"github.com/callbridge/widget-server/bench/internal/widget"
)

// tab is one widget tab placing or answering calls.
type tab struct {
	*tabs.Tab
	rings chan string // ids of calls ringing on this device
}

// leg is one client of a call: a pion PeerConnection (bench/internal/peer)
// or a raw SRTP leg (bench/internal/rawleg).
type leg interface {
	pace.Sender
	Answer(ctx context.Context, sdp string) error
	Got() bool
	Close()
}

// newLeg makes a leg and its offer; received packets go to the pacer.
type newLeg func() (leg, string, error)

// legMaker is how legs are made for -client: "pion" or "raw".
func legMaker(client string, profiles []dtls.SRTPProtectionProfile, p *pace.Pacer) (newLeg, error) {
	switch client {
	case "pion":
		return func() (leg, string, error) { return peer.New(profiles, p.Received) }, nil
	case "raw":
		id, err := rawleg.NewIdentity()
		if err != nil {
			return nil, err
		}
		return func() (leg, string, error) { return rawleg.New(id, profiles, p.Received) }, nil
	}
	return nil, fmt.Errorf("-client %q: want raw or pion", client)
}

// call is one two-party call through the gateway.
type call struct {
	caller, callee leg
	answer         string // the gateway's answer to the caller
}

func (c *call) established() bool { return c.caller.Got() && c.callee.Got() }

// signIn opens u's tab, which hears of calls ringing on its device.
func signIn(ctx context.Context, srv *target.Server, u target.User) (*tab, error) {
	t := &tab{rings: make(chan string, 4)}
	var err error
	t.Tab, err = tabs.Open(ctx, srv, u, func(w *tabs.Tab, ev widget.Event) {
		if ev.Type == "rc-call-ring-notify" && ev.To == w.Device {
			select {
			case t.rings <- ev.Call.ID:
			default:
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// placeCall runs the signalling of one call: the caller dials the callee's
// extension, the callee's stream rings, the callee answers; both legs
// connect to the gateway.
func placeCall(ctx context.Context, caller, callee *tab, newLeg newLeg) (*call, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	a, offer, err := newLeg()
	if err != nil {
		return nil, fmt.Errorf("caller leg: %w", err)
	}
	_, answerA, err := caller.W.Dial(ctx, caller.Device, callee.User.Number, offer)
	if err != nil {
		a.Close()
		return nil, err
	}
	if err := a.Answer(ctx, answerA); err != nil {
		a.Close()
		return nil, fmt.Errorf("caller: %w", err)
	}
	var id string
	select {
	case id = <-callee.rings:
	case <-ctx.Done():
		a.Close()
		return nil, fmt.Errorf("callee %s never rang", callee.User.Number)
	}
	b, offer, err := newLeg()
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("callee leg: %w", err)
	}
	answer, err := callee.W.Answer(ctx, callee.Device, id, offer)
	if err == nil {
		err = b.Answer(ctx, answer)
	}
	if err != nil {
		a.Close()
		b.Close()
		return nil, fmt.Errorf("answer: %w", err)
	}
	return &call{caller: a, callee: b, answer: answerA}, nil
}

func runGateway(ctx context.Context, cfg config, res *Result) error {
	pacer := pace.New(cfg.shards, cfg.payload)
	newLeg, err := legMaker(cfg.client, peer.SRTPProfiles[cfg.srtp], pacer)
	if err != nil {
		return err
	}
	// A server this tool starts as a process serves /debug/vars on
	// loopback: its collector's CPU and its allocations per step.
	var debug *measure.Debug
	if cfg.server.URL == "" && !cfg.server.Embed {
		addr, err := measure.FreeDebugAddr()
		if err != nil {
			return err
		}
		cfg.server.Args = append(cfg.server.Args, "--debug-addr", addr)
		debug = &measure.Debug{URL: "http://" + addr}
	}
	srv, err := target.Start(ctx, cfg.server)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(os.Stderr, "gateway: server %s (pid %d, embedded %v), data %s; %s clients\n", srv.URL, srv.PID, srv.Embedded, srv.DataDir, cfg.client)
	stopSending := pacer.Start(ctx)
	var calls []*call
	var peers []*tab
	defer func() {
		stopSending()
		closeAll(calls)
	}()
	r, mediaPort := ramp{cfg: cfg, max: &res.GatewayMax, maxPPS: &res.GatewayMaxPPS}, 0
	for i, n := range cfg.calls {
		started := time.Now()
		users := target.LoadUsers(cfg.firstNumber, 2*n)
		if err := srv.Seed(ctx, users, cfg.seedParallel); err != nil {
			return err
		}
		var err error
		peers, err = signInAll(ctx, srv, users, peers, cfg.setupParallel)
		if err != nil {
			return err
		}
		calls, err = placeAll(ctx, peers, calls, n, newLeg, pacer, cfg.setupParallel)
		note := ""
		if err != nil {
			note = err.Error()
			fmt.Fprintf(os.Stderr, "gateway: step %d: %v\n", n, err)
		}
		setup := time.Since(started)
		fmt.Fprintf(os.Stderr, "gateway: %d calls up in %s; measuring\n", len(calls), setup.Round(time.Second))
		if mediaPort == 0 && len(calls) > 0 {
			mediaPort = answerPort(calls[0].answer)
			if l, ok := calls[0].caller.(*rawleg.Leg); ok {
				fmt.Fprintf(os.Stderr, "gateway: SRTP profile %s\n", l.ProfileName())
			}
		}
		st, err := measureStep(ctx, cfg, pacer, len(res.Steps)+1, srv.PID, mediaPort, cfg.cpuprofile != "" && i == len(cfg.calls)-1, debug)
		st.Target, st.Calls, st.Note = "gateway", n, note
		st.SetupSeconds = float64(int(setup.Seconds()*10)) / 10
		for _, c := range calls {
			if c.established() {
				st.Established++
			}
		}
		if srv.Embedded {
			st.Note = strings.TrimSpace(st.Note + " server embedded: CPU and RSS are the whole process")
		}
		if stop := r.record(res, st); stop || err != nil {
			return err
		}
	}
	return nil
}

// signInAll signs in the users that have no peer yet, parallel at a time.
func signInAll(ctx context.Context, srv *target.Server, users []target.User, have []*tab, parallel int) ([]*tab, error) {
	return tabs.OpenAll(ctx, users, have, parallel, func(ctx context.Context, u target.User) (*tab, error) { return signIn(ctx, srv, u) })
}

// placeAll places calls until there are n: call k is from peer 2k to 2k+1.
func placeAll(ctx context.Context, peers []*tab, calls []*call, n int, newLeg newLeg, p *pace.Pacer, parallel int) ([]*call, error) {
	var mu sync.Mutex
	var firstErr error
	first := len(calls)
	bounded.Do(n-first, parallel, func(i int) {
		k := first + i
		c, err := placeCall(ctx, peers[2*k], peers[2*k+1], newLeg)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("call %d: %w", k, err)
			}
			return
		}
		calls = append(calls, c)
		p.Add(c.caller)
		p.Add(c.callee)
	})
	return calls, firstErr
}

func closeAll(calls []*call) {
	bounded.Do(len(calls), 16, func(i int) {
		calls[i].caller.Close()
		calls[i].callee.Close()
	})
}

// answerPort is the port of the gateway's host candidate in its answer.
func answerPort(sdp string) int {
	for line := range strings.Lines(sdp) {
		if f := strings.Fields(line); len(f) >= 8 && strings.HasPrefix(f[0], "a=candidate") && strings.EqualFold(f[2], "udp") {
			if p, err := strconv.Atoi(f[5]); err == nil {
				return p
			}
		}
	}
	return 0
}
