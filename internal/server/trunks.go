package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/callbridge/widget-server/internal/sip"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/telephony"
)

// DevSIPListen is where SIP listens in development mode when trunks or
// desk phones are kept and --sip-listen is not given: loopback, for a carrier played by
// SIPp on the same machine (docs/sip.md).
const DevSIPListen = "127.0.0.1:5060"

// trunkLines adapts the SIP user agent to the switch's telephony.Trunks:
// the switch's calls to numbers outside the account go out on it.
type trunkLines struct{ ua *sip.UA }

func (t trunkLines) Route(number, region string) (telephony.TrunkRoute, bool) {
	r, ok := t.ua.Route(number, region)
	return telephony.TrunkRoute{Trunk: r.Trunk, Number: r.Number, Emergency: r.Emergency}, ok
}

func (t trunkLines) Dial(ctx context.Context, trunk string, c telephony.TrunkCall, ev telephony.TrunkEvents) (telephony.TrunkLeg, error) {
	call, err := t.ua.Invite(ctx, trunk, sip.OutboundCall{To: c.To, CallerID: c.CallerID, CallerName: c.CallerName, SDP: c.SDP}, sip.Events{
		Progress: ev.Progress,
		Answered: ev.Answered,
		Failed:   func(f sip.Failure) { ev.Failed(f.Code, f.Reason, f.Result) },
		Ended:    func(sip.EndCause) { ev.Ended() },
		Offer:    ev.Offer,
		DTMF:     func(k sip.DTMF) { ev.DTMF(k.Digit, k.Duration) },
	})
	if err != nil {
		f := sip.FailureOf(err)
		return nil, &telephony.TrunkFailure{Code: f.Code, Reason: f.Reason, Result: f.Result, Err: err}
	}
	return call, nil
}

// inboundCalls hands the calls carriers send to the account's numbers to
// the switch, which rings the extension that owns the number.
type inboundCalls struct{ sw *telephony.Switch }

func (h inboundCalls) Incoming(c *sip.Call, o sip.Offer) sip.Events {
	ev := h.sw.TrunkCallIn(context.Background(), inboundLeg{c}, o.Trunk, o.From, o.FromName, o.To, o.SDP)
	out := sip.Events{Offer: ev.Offer}
	if ev.DTMF != nil {
		out.DTMF = func(k sip.DTMF) { ev.DTMF(k.Digit, k.Duration) }
	}
	if ev.Canceled != nil {
		out.Canceled = ev.Canceled
	}
	if ev.Ended != nil {
		out.Ended = func(sip.EndCause) { ev.Ended() }
	}
	return out
}

// inboundLeg is a call a carrier sent in, as the switch answers it: it
// rings with 180 (the caller hears the carrier's ringback).
type inboundLeg struct{ *sip.Call }

func (l inboundLeg) Ring() error { return l.Call.Ring("") }

// startTrunks starts the SIP user agent with the trunks and desk phones
// kept in db, when there are any or listeners are configured; it returns
// nil (and no error) when SIP is off. With node (several nodes), one node
// at a time registers each registering trunk. The caller closes the user
// agent.
func startTrunks(ctx context.Context, cfg Config, db *store.DB, sw *telephony.Switch, phones *deskPhones, node *clusterNode, log *slog.Logger) (*sip.UA, error) {
	trunks, err := db.Trunks(ctx)
	if err != nil {
		return nil, err
	}
	devices, err := db.SIPDevices(ctx)
	if err != nil {
		return nil, err
	}
	listen, err := sipListeners(cfg.SIPListen, trunks, len(devices), cfg.Dev)
	if err != nil || len(listen) == 0 {
		return nil, err
	}
	var leases sip.TrunkLeases
	if node != nil {
		l, err := node.trunkLeases(ctx)
		if err != nil {
			return nil, err
		}
		leases = l
	}
	var started atomic.Pointer[sip.UA]
	phones.ua = started.Load
	ua, err := sip.New(sip.Config{
		Listen: listen, Trunks: trunks, PublicHost: cfg.SIPPublicHost,
		Handler: inboundCalls{sw}, Logger: log, TrunkLeases: leases,
		Devices: phoneDevices{db, db}, Realm: cfg.SIPRealm, DeviceHandler: phones, OnRegistration: phones.registration,
	})
	if err != nil {
		return nil, fmt.Errorf("sip: %w", err)
	}
	started.Store(ua)
	if err := ua.Start(ctx); err != nil {
		return nil, err // Start closed the user agent
	}
	if err := sw.SetTrunks(trunkLines{ua}); err != nil {
		ua.Close()
		return nil, err
	}
	names := make([]string, len(trunks))
	for i, t := range trunks {
		names[i] = t.Name
	}
	log.Info("sip started", slog.Int("trunks", len(trunks)), slog.String("trunkNames", strings.Join(names, " ")), slog.Int("phones", len(devices)))
	return ua, nil
}

// sipListeners are the user agent's listeners: those configured; else,
// with trunks kept, UDP and TCP on loopback in development mode and an
// error in production, where the address carriers reach must be chosen;
// else none (SIP off).
func sipListeners(configured []sip.Listen, trunks []sip.TrunkConfig, phones int, dev bool) ([]sip.Listen, error) {
	switch {
	case len(configured) > 0:
		return configured, nil
	case len(trunks) == 0 && phones == 0:
		return nil, nil
	case dev:
		return []sip.Listen{{Transport: sip.UDP, Addr: DevSIPListen}, {Transport: sip.TCP, Addr: DevSIPListen}}, nil
	}
	names := make([]string, len(trunks))
	for i, t := range trunks {
		names[i] = t.Name
	}
	if len(trunks) == 0 {
		return nil, fmt.Errorf("sip: %d desk phones are kept but --sip-listen is not set: "+
			"give the address phones reach, such as 0.0.0.0:5060, or remove the phones (widget-server phones remove)", phones)
	}
	return nil, errors.New("sip: trunks are kept (" + strings.Join(names, ", ") + ") but --sip-listen is not set: " +
		"give the address carriers reach, such as 0.0.0.0:5060, or remove the trunks (widget-server trunks remove)")
}
