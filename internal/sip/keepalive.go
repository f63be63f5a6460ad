package sip

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/emiago/sipgo/sip"
)

// keepAliveLoop sends an OPTIONS to the trunk at once and then every
// KeepAlive interval. An answer marks the trunk reachable; no answer
// within the interval (or 32 s, RFC 3261's Timer F), a transport error or
// 503 marks it unreachable, so calls fail fast until it answers again.
func (t *trunk) keepAliveLoop(ctx context.Context) {
	tick := time.NewTicker(t.cfg.KeepAlive)
	defer tick.Stop()
	for {
		err := t.probe(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			t.log.Debug("sip: keep-alive unanswered", slog.Any("err", err))
			t.update(func(st *TrunkStatus) { st.Reachable = false; st.Error = "keep-alive: " + err.Error() })
		} else {
			t.update(func(st *TrunkStatus) { st.Reachable = true })
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// probe sends one OPTIONS and waits for its answer.
func (t *trunk) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, min(t.cfg.KeepAlive, sip.Timer_F))
	defer cancel()
	req := sip.NewRequest(sip.OPTIONS, t.requestURI(""))
	from := &sip.FromHeader{Address: t.aor(t.cfg.Username), Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: t.requestURI(""), Params: sip.NewParams()})
	cid := sip.CallIDHeader(sip.GenerateTagN(24) + "@" + t.host)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.OPTIONS})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	if r := t.route(); r != nil {
		req.AppendHeader(r)
	}
	req.AppendHeader(t.contact())
	req.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	req.AppendHeader(sip.NewHeader("User-Agent", t.ua.cfg.UserAgent))
	req.SetTransport(t.sipTransport())
	res, err := t.ua.roundTrip(ctx, t, req, false)
	if err != nil {
		return err
	}
	if res.StatusCode == 503 {
		return fmt.Errorf("OPTIONS answered %d %s", res.StatusCode, res.Reason)
	}
	return nil
}
