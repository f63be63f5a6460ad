package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/callbridge/widget-server/internal/media"
	"github.com/callbridge/widget-server/internal/sip"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/telephony"
)

// DevSIPListen is where SIP listens in development mode when trunks are
// kept and --sip-listen is not given: loopback, for a carrier played by
// SIPp on the same machine (docs/sip.md).
const DevSIPListen = "127.0.0.1:5060"

// trunkInbound returns the handler of the calls carriers send to the
// account's numbers. The switch takes them through this hook once its
// adapter exists; until then it is nil, and the user agent refuses every
// inbound INVITE from a trunk with 480 Temporarily Unavailable (a stranger's
// with 403) instead of accepting a call nobody would answer.
func trunkInbound(*telephony.Switch, *media.Gateway) sip.InboundHandler { return nil }

// startTrunks starts the SIP user agent with the trunks kept in db, when
// there are any or listeners are configured; it returns nil (and no error)
// when SIP is off. The caller closes the user agent.
func startTrunks(ctx context.Context, cfg Config, db *store.DB, inbound sip.InboundHandler, log *slog.Logger) (*sip.UA, error) {
	trunks, err := db.Trunks(ctx)
	if err != nil {
		return nil, err
	}
	listen, err := sipListeners(cfg.SIPListen, trunks, cfg.Dev)
	if err != nil || len(listen) == 0 {
		return nil, err
	}
	ua, err := sip.New(sip.Config{
		Listen: listen, Trunks: trunks, PublicHost: cfg.SIPPublicHost,
		Handler: inbound, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("sip: %w", err)
	}
	if err := ua.Start(ctx); err != nil {
		return nil, err // Start closed the user agent
	}
	names := make([]string, len(trunks))
	for i, t := range trunks {
		names[i] = t.Name
	}
	log.Info("sip started", slog.Int("trunks", len(trunks)), slog.String("trunkNames", strings.Join(names, " ")))
	return ua, nil
}

// sipListeners are the user agent's listeners: those configured; else,
// with trunks kept, UDP and TCP on loopback in development mode and an
// error in production, where the address carriers reach must be chosen;
// else none (SIP off).
func sipListeners(configured []sip.Listen, trunks []sip.TrunkConfig, dev bool) ([]sip.Listen, error) {
	switch {
	case len(configured) > 0:
		return configured, nil
	case len(trunks) == 0:
		return nil, nil
	case dev:
		return []sip.Listen{{Transport: sip.UDP, Addr: DevSIPListen}, {Transport: sip.TCP, Addr: DevSIPListen}}, nil
	}
	names := make([]string, len(trunks))
	for i, t := range trunks {
		names[i] = t.Name
	}
	return nil, errors.New("sip: trunks are kept (" + strings.Join(names, ", ") + ") but --sip-listen is not set: " +
		"give the address carriers reach, such as 0.0.0.0:5060, or remove the trunks (widget-server trunks remove)")
}
