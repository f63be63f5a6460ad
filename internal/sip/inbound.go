package sip

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// supportedOptions are the extensions we support (Supported header); a
// Require naming another is refused with 420 (RFC 3261 8.2.2.3).
var supportedOptions = map[string]bool{"timer": true}

// onInvite handles an INVITE: a new call from a trunk's address or from a
// phone (device_call.go), or a re-INVITE within a call.
func (u *UA) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params.Has("tag") {
		u.onReInvite(req, tx)
		return
	}
	t := u.trunkFor(req.Source())
	if u.registrarOn() && (t == nil || u.fromBinding(req)) {
		u.onDeviceInvite(req, tx)
		return
	}
	if t == nil {
		u.log.Warn("sip: INVITE from an address of no trunk refused", slog.String("source", req.Source()))
		u.respond(tx, req, 403, "Forbidden")
		return
	}
	u.acceptInvite(req, tx, t, nil)
}

// acceptInvite takes a new call from trunk t, or from the phone dev
// (then t is the one deviceTrunk made for it), and hands it to the
// handler.
func (u *UA) acceptInvite(req *sip.Request, tx sip.ServerTransaction, t *trunk, dev *Device) {
	if u.ctx.Err() != nil {
		u.respond(tx, req, 503, "Service Unavailable")
		return
	}
	if bad := unsupportedRequire(req); bad != "" {
		u.respond(tx, req, 420, "Bad Extension", sip.NewHeader("Unsupported", bad))
		return
	}
	from, to, contact, cid, cseq := req.From(), req.To(), req.Contact(), req.CallID(), req.CSeq()
	var fromTag string
	if from != nil {
		fromTag, _ = from.Params.Get("tag")
	}
	if to == nil || contact == nil || fromTag == "" || cid == nil || cseq == nil {
		u.respond(tx, req, 400, "Bad Request")
		return
	}
	sdp := sdpBody(req)
	if sdp == "" {
		// An INVITE without an offer would need our offer in the 200 and
		// its answer in the ACK; carriers' trunks send offers.
		u.respond(tx, req, 488, "Not Acceptable Here")
		return
	}
	interval, weRefresh, timerOn, tooSmall := negotiateUAS(req)
	if tooSmall {
		u.respond(tx, req, 422, "Session Interval Too Small", sip.NewHeader("Min-SE", strconv.Itoa(int(minSessionExpires.Seconds()))))
		return
	}

	c := newCall(u, t, Inbound, cid.Value())
	if dev != nil {
		c.device, c.dest = dev, req.Source()
	}
	c.tx = tx
	c.inv = req.Clone()
	c.localTag = sip.GenerateTagN(16)
	c.inv.To().Params.Add("tag", c.localTag)
	c.remoteTag = fromTag
	c.local = *to.Address.Clone()
	c.localName = to.DisplayName
	c.remote = *from.Address.Clone()
	c.remName = from.DisplayName
	c.remoteSeq = cseq.SeqNo
	c.target = *contact.Address.Clone()
	c.routes = recordRoutes(req) // in order for the UAS (RFC 3261 12.1.1)
	c.remoteSDP = sdp
	if h := req.GetHeader("Allow"); h != nil {
		c.peerAllow = h.Value()
	}
	c.key = dialogKey(c.callID, c.localTag, c.remoteTag)
	if !u.addCall(c) {
		u.respond(tx, req, 503, "Service Unavailable")
		return
	}

	o := Offer{Trunk: t.cfg.Name, To: req.Recipient.User, From: from.Address.User, FromName: from.DisplayName, SDP: sdp}
	if o.To == "" {
		o.To = to.Address.User
	}
	if pai := assertedIdentity(req); pai != "" && dev == nil {
		o.From = pai // a carrier's assertion; a phone's is not believed
	}
	c.log = c.log.With(slog.String("from", o.From), slog.String("to", o.To))
	c.log.Info("sip: incoming call", slog.String("sdpAddr", sdpConnectionAddr(sdp)))

	if !tx.OnCancel(func(*sip.Request) { go c.canceledByCaller() }) {
		c.end()
		return
	}
	var deliver func() Events
	switch {
	case dev != nil && u.cfg.DeviceHandler != nil:
		deliver = func() Events { return u.cfg.DeviceHandler.DeviceCall(c, *dev, o) }
	case dev == nil && u.cfg.Handler != nil:
		deliver = func() Events { return u.cfg.Handler.Incoming(c, o) }
	default:
		_ = c.Reject(480, "Temporarily Unavailable")
		return
	}
	c.evMu.Lock()
	c.ev = deliver()
	c.evMu.Unlock()
	if timerOn {
		c.mu.Lock()
		c.timer = &sessionTimer{interval: interval, weRefresh: weRefresh} // armed on answer
		c.mu.Unlock()
	}
	// The transaction ends when this handler returns: wait for the final
	// response, the caller's CANCEL, or the UA closing.
	select {
	case <-c.final:
	case <-tx.Done():
		c.canceledByCaller()
	case <-u.ctx.Done():
		_ = c.Reject(503, "Service Unavailable")
	}
}

// canceledByCaller ends an inbound call the caller cancelled before our
// final response (the transaction answered 487).
func (c *Call) canceledByCaller() {
	c.mu.Lock()
	if c.state != stateEarly {
		c.mu.Unlock()
		return
	}
	c.endLocked()
	c.mu.Unlock()
	c.afterEnd()
	c.finalOnce.Do(func() { close(c.final) })
	c.log.Info("sip: caller cancelled")
	c.emit(func(ev Events) {
		if ev.Canceled != nil {
			ev.Canceled()
		}
	})
}

// Ring tells the caller of an inbound call that it rings: 180 Ringing, or
// 183 Session Progress with early media when sdp is not "".
func (c *Call) Ring(sdp string) error {
	c.mu.Lock()
	if c.dir != Inbound || c.state != stateEarly {
		c.mu.Unlock()
		return fmt.Errorf("ring: %w", ErrCallState)
	}
	c.mu.Unlock()
	code, reason := 180, "Ringing"
	var body []byte
	if sdp != "" {
		code, reason, body = 183, "Session Progress", []byte(sdp)
	}
	res := sip.NewResponseFromRequest(c.inv, code, reason, body)
	res.AppendHeader(c.trunk.contact())
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	if err := c.tx.Respond(res); err != nil {
		return fmt.Errorf("ring: %w", err)
	}
	return nil
}

// Answer connects an inbound call with our SDP answer (200 OK). It returns
// once the 200 is sent; over UDP it is sent again until the carrier's ACK,
// and a call never acknowledged ends (Ended(EndNoAck)).
func (c *Call) Answer(ctx context.Context, sdp string) error {
	c.mu.Lock()
	if c.dir != Inbound || c.state != stateEarly {
		c.mu.Unlock()
		return fmt.Errorf("answer: %w", ErrCallState)
	}
	c.state = stateConfirmed
	c.localSDP = sdp
	seq := c.remoteSeq
	tm := c.timer
	c.mu.Unlock()
	ack := c.awaitAck(seq)

	res := sip.NewResponseFromRequest(c.inv, 200, "OK", []byte(sdp))
	res.AppendHeader(c.trunk.contact())
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(sip.NewHeader("Allow", allowMethods))
	res.AppendHeader(sip.NewHeader("Supported", "timer"))
	if tm != nil {
		for _, h := range timerResponseHeaders(tm.interval, tm.weRefresh) {
			res.AppendHeader(h)
		}
	}
	// The INVITE's handler returns, ending the transaction, once final is
	// closed: only after the response.
	err := c.tx.Respond(res)
	c.finalOnce.Do(func() { close(c.final) })
	if err != nil {
		if c.end() {
			c.log.Info("sip: answer failed", slog.Any("err", err))
		}
		return fmt.Errorf("answer: %w", err)
	}
	c.log.Info("sip: call answered", slog.String("sdpAddr", sdpConnectionAddr(sdp)))
	if tm != nil {
		c.setTimer(tm.interval, tm.weRefresh)
	}
	c.ua.wg.Add(1)
	go func() {
		defer c.ua.wg.Done()
		if !c.retransmit2xx(c.tx, res, ack) {
			c.log.Warn("sip: 200 OK never acknowledged")
			c.endByPeer(EndNoAck, true)
		}
	}()
	return nil
}

// Reject refuses an inbound call that was not answered with a final code
// (486 busy, 480 unavailable, 603 declined, 404 ...).
func (c *Call) Reject(code int, reason string) error {
	if code < 300 || code > 699 {
		return fmt.Errorf("reject with %d: %w", code, ErrCallState)
	}
	c.mu.Lock()
	if c.dir != Inbound || c.state != stateEarly {
		c.mu.Unlock()
		return fmt.Errorf("reject: %w", ErrCallState)
	}
	c.endLocked()
	c.mu.Unlock()
	c.afterEnd()
	res := sip.NewResponseFromRequest(c.inv, code, sanitizeName(reason), nil)
	err := c.tx.Respond(res)
	c.finalOnce.Do(func() { close(c.final) })
	if err != nil {
		return fmt.Errorf("reject: %w", err)
	}
	c.log.Info("sip: call refused", slog.Int("code", code))
	return nil
}

// onReInvite handles an INVITE within a call: a new offer (hold, resume),
// or a session refresh repeating the last one.
func (u *UA) onReInvite(req *sip.Request, tx sip.ServerTransaction) {
	c := u.callFor(req)
	if c == nil || req.CSeq() == nil {
		u.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	c.mu.Lock()
	switch {
	case c.state != stateConfirmed:
		c.mu.Unlock()
		u.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	case req.CSeq().SeqNo <= c.remoteSeq:
		c.mu.Unlock()
		u.respond(tx, req, 500, "Server Internal Error")
		return
	case c.pending:
		// Our own re-INVITE is in progress (RFC 3261 14.2).
		c.mu.Unlock()
		u.respond(tx, req, 491, "Request Pending")
		return
	}
	c.remoteSeq = req.CSeq().SeqNo
	prevRemote, local := c.remoteSDP, c.localSDP
	c.mu.Unlock()

	answer, ok := c.answerOffer(sdpBody(req), prevRemote, local)
	if !ok {
		u.respond(tx, req, 488, "Not Acceptable Here")
		return
	}
	ack := c.awaitAck(req.CSeq().SeqNo)
	res := sip.NewResponseFromRequest(req, 200, "OK", []byte(answer))
	res.AppendHeader(c.trunk.contact())
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(sip.NewHeader("Allow", allowMethods))
	c.refreshedByPeer(req, res)
	c.targetRefresh(req)
	if err := tx.Respond(res); err != nil {
		c.log.Debug("sip: re-INVITE answer failed", slog.Any("err", err))
		return
	}
	c.retransmit2xx(tx, res, ack)
}

// answerOffer answers an offer the carrier sent within the call. A
// repeated offer (same o= line: a session refresh) gets our last SDP
// again without asking; an absent one too (we then offer, and ignore the
// ACK's answer). A new one goes to Events.Offer.
func (c *Call) answerOffer(offer, prevRemote, local string) (string, bool) {
	if offer == "" || sdpOrigin(offer) == sdpOrigin(prevRemote) {
		return local, true
	}
	var answer string
	var err error = fmt.Errorf("no offer handler")
	c.emit(func(ev Events) {
		if ev.Offer != nil {
			answer, err = ev.Offer(offer)
		}
	})
	if err != nil || answer == "" {
		c.log.Info("sip: offer refused", slog.Any("err", err))
		return "", false
	}
	c.mu.Lock()
	c.remoteSDP, c.localSDP = offer, answer
	c.mu.Unlock()
	return answer, true
}

// refreshedByPeer rearms the session timer from a refreshing request the
// carrier sent, and puts the timer's headers in our 2xx to it.
func (c *Call) refreshedByPeer(req *sip.Request, res *sip.Response) {
	interval, weRefresh, ok, _ := negotiateUAS(req)
	if !ok {
		if d, we, on := c.timerInfo(); on {
			interval, weRefresh, ok = d, we, true
		}
	}
	if !ok {
		return
	}
	for _, h := range timerResponseHeaders(interval, weRefresh) {
		res.AppendHeader(h)
	}
	c.setTimer(interval, weRefresh)
}

// targetRefresh takes the new remote target a re-INVITE or UPDATE names
// (RFC 3261 12.2.2).
func (c *Call) targetRefresh(req *sip.Request) {
	if ct := req.Contact(); ct != nil && ct.Address.Host != "" {
		c.mu.Lock()
		c.target = *ct.Address.Clone()
		c.mu.Unlock()
	}
}

// onAck takes the ACK of a 2xx we sent.
func (u *UA) onAck(req *sip.Request, _ sip.ServerTransaction) {
	if c := u.callFor(req); c != nil && req.CSeq() != nil {
		c.acked(req.CSeq().SeqNo)
	}
}

// onBye ends a call the carrier hung up.
func (u *UA) onBye(req *sip.Request, tx sip.ServerTransaction) {
	c := u.callFor(req)
	if c == nil {
		u.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	u.respond(tx, req, 200, "OK")
	c.mu.Lock()
	early := c.state == stateEarly
	c.mu.Unlock()
	if early && c.dir == Inbound {
		// A BYE in an early dialog ends it like a CANCEL: our INVITE
		// transaction answers 487.
		if c.Reject(487, "Request Terminated") == nil {
			c.emit(func(ev Events) {
				if ev.Canceled != nil {
					ev.Canceled()
				}
			})
		}
		return
	}
	if c.dir == Outbound {
		// The carrier may hang up as soon as it has our ACK, before the
		// 2xx it acknowledges has been reported: the call ends after it
		// connected, never before.
		select {
		case <-c.inviteDone:
		case <-time.After(sip.Timer_F):
		}
	}
	c.endByPeer(EndRemoteBye, false)
}

// onCancel answers a CANCEL that matched no INVITE transaction (those that
// match are answered by the transaction layer: 200, then 487).
func (u *UA) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	u.respond(tx, req, 481, "Call/Transaction Does Not Exist")
}

// onInfo reports a DTMF key the carrier sent in an INFO.
func (u *UA) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	c := u.callFor(req)
	if c == nil {
		u.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	body := req.Body()
	if len(body) == 0 {
		u.respond(tx, req, 200, "OK")
		return
	}
	d, ok := parseDTMFInfo(contentType(req), body)
	if !ok {
		u.respond(tx, req, 415, "Unsupported Media Type", sip.NewHeader("Accept", "application/dtmf-relay, application/dtmf"))
		return
	}
	u.respond(tx, req, 200, "OK")
	c.log.Debug("sip: DTMF", slog.String("digit", string(d.Digit)))
	c.emit(func(ev Events) {
		if ev.DTMF != nil {
			ev.DTMF(d)
		}
	})
}

// onUpdate handles an UPDATE (RFC 3311): a session refresh, or a new offer.
func (u *UA) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	c := u.callFor(req)
	if c == nil || req.CSeq() == nil {
		u.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	c.mu.Lock()
	if c.state != stateConfirmed || req.CSeq().SeqNo <= c.remoteSeq {
		c.mu.Unlock()
		u.respond(tx, req, 500, "Server Internal Error")
		return
	}
	c.remoteSeq = req.CSeq().SeqNo
	prevRemote, local := c.remoteSDP, c.localSDP
	c.mu.Unlock()
	var body []byte
	if offer := sdpBody(req); offer != "" {
		answer, ok := c.answerOffer(offer, prevRemote, local)
		if !ok {
			u.respond(tx, req, 488, "Not Acceptable Here")
			return
		}
		body = []byte(answer)
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", body)
	res.AppendHeader(c.trunk.contact())
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	c.refreshedByPeer(req, res)
	c.targetRefresh(req)
	if err := tx.Respond(res); err != nil {
		c.log.Debug("sip: UPDATE answer failed", slog.Any("err", err))
	}
}

// onOptions answers keep-alives and capability queries from the trunks'
// and the registered phones' addresses; others are refused.
func (u *UA) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	if u.trunkFor(req.Source()) == nil && u.callFor(req) == nil && !u.fromBinding(req) {
		u.respond(tx, req, 403, "Forbidden")
		return
	}
	u.respond(tx, req, 200, "OK",
		sip.NewHeader("Allow", allowMethods),
		sip.NewHeader("Accept", "application/sdp, application/dtmf-relay"),
		sip.NewHeader("Supported", "timer"))
}

// onOther answers the methods we do not serve.
func (u *UA) onOther(req *sip.Request, tx sip.ServerTransaction) {
	u.respond(tx, req, 405, "Method Not Allowed", sip.NewHeader("Allow", allowMethods))
}

// unsupportedRequire returns the options a Require lists that we do not
// support, or "".
func unsupportedRequire(req *sip.Request) string {
	var bad []string
	for _, h := range req.GetHeaders("Require") {
		for _, t := range strings.Split(h.Value(), ",") {
			t = strings.ToLower(strings.TrimSpace(t))
			if t != "" && !supportedOptions[t] {
				bad = append(bad, t)
			}
		}
	}
	return strings.Join(bad, ", ")
}

// assertedIdentity returns the user of a P-Asserted-Identity (RFC 3325)
// SIP or tel URI, or "".
func assertedIdentity(req *sip.Request) string {
	for _, h := range req.GetHeaders("P-Asserted-Identity") {
		for _, v := range splitAddrList(h.Value()) {
			var uri sip.Uri
			params := sip.NewParams()
			if _, err := sip.ParseAddressValue(v, &uri, &params); err != nil {
				continue
			}
			if uri.User != "" && validUser(uri.User) {
				return uri.User
			}
			if raw := uri.Raw(); strings.EqualFold(uri.Scheme, "tel") && raw != "" {
				num, _, _ := strings.Cut(raw, ";")
				if validUser(num) {
					return num
				}
			}
		}
	}
	return ""
}
