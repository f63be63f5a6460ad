package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// OutboundCall is what Invite sends.
type OutboundCall struct {
	// To is the number dialled, as the carrier expects it (E.164 with
	// '+', or its own dialling plan): the Request-URI's user part.
	To string
	// From is the trunk's identity for the call when the caller id goes in
	// P-Asserted-Identity; empty uses the trunk's username.
	From string
	// CallerID is the number presented to the callee; CallerName its
	// display name. Where it goes is the trunk's caller-id policy.
	CallerID   string
	CallerName string
	// SDP is the offer (from the media gateway).
	SDP string
}

// Invite places an outbound call on the named trunk. It sends the INVITE
// (ctx bounds that: a TCP or TLS connection to set up) and returns the
// call; what follows arrives on ev: Progress, then Answered or Failed.
// Errors: ErrUnknownTrunk, ErrTrunkDown (fail the call with 503 at once),
// ErrBadNumber, ErrClosed; FailureOf maps them.
func (u *UA) Invite(ctx context.Context, trunkName string, o OutboundCall, ev Events) (*Call, error) {
	t := u.byName[trunkName]
	if t == nil {
		return nil, fmt.Errorf("invite via %q: %w", trunkName, ErrUnknownTrunk)
	}
	if u.ctx.Err() != nil {
		return nil, fmt.Errorf("invite via %s: %w", trunkName, ErrClosed)
	}
	if st := t.status(); !st.Up {
		return nil, fmt.Errorf("invite via %s: %w", trunkName, ErrTrunkDown)
	}
	if !validUser(o.To) {
		return nil, fmt.Errorf("invite %q: %w", o.To, ErrBadNumber)
	}
	fromUser := o.CallerID
	if t.cfg.CallerID == CallerIDPAI || fromUser == "" {
		fromUser = o.From
		if fromUser == "" {
			fromUser = t.cfg.Username
		}
	}
	if fromUser == "" {
		fromUser = "anonymous"
	}
	if !validUser(fromUser) || (o.CallerID != "" && !validUser(o.CallerID)) {
		return nil, fmt.Errorf("invite from %q: %w", fromUser, ErrBadNumber)
	}

	c := newCall(u, t, Outbound, sip.GenerateTagN(24)+"@"+t.host)
	c.ev = ev
	c.localTag = sip.GenerateTagN(16)
	c.local = t.aor(fromUser)
	c.localName = sanitizeName(o.CallerName)
	c.remote = t.requestURI(o.To)
	c.target = t.requestURI(o.To)
	c.localSDP = o.SDP
	c.localSeq = 1
	if r := t.route(); r != nil {
		c.routes = []sip.Uri{r.Address}
	}
	c.log = c.log.With(slog.String("to", o.To))
	return u.placeCall(ctx, c, o)
}

// placeCall sends the INVITE of an outbound call c whose dialog is set up
// (From, To, target, route) and follows its transaction in a goroutine.
func (u *UA) placeCall(ctx context.Context, c *Call, o OutboundCall) (*Call, error) {
	t := c.trunk
	build := func(seq uint32, minSE int) *sip.Request {
		req := c.newRequest(sip.INVITE, seq)
		if t.cfg.CallerID == CallerIDPAI && o.CallerID != "" && c.device == nil {
			pai := &sip.FromHeader{DisplayName: c.localName, Address: t.aor(o.CallerID)}
			req.AppendHeader(sip.NewHeader("P-Asserted-Identity", pai.Value()))
		}
		se := int(u.cfg.SessionExpires.Seconds())
		req.AppendHeader(sip.NewHeader("Session-Expires", strconv.Itoa(max(se, minSE))))
		req.AppendHeader(sip.NewHeader("Min-SE", strconv.Itoa(max(int(minSessionExpires.Seconds()), minSE))))
		if o.SDP != "" { // else a delayed offer (RFC 3261 13.2.1): the 2xx offers, the ACK answers
			req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			req.SetBody([]byte(o.SDP))
		}
		return req
	}
	req := build(1, 0)
	tx, err := u.request(ctx, t, req, false)
	if err != nil {
		if c.device != nil {
			return nil, fmt.Errorf("invite phone %s: %w", c.device.Username, err)
		}
		return nil, fmt.Errorf("invite %s via %s: %w", o.To, t.cfg.Name, err)
	}
	c.log.Info("sip: calling", slog.String("sdpAddr", sdpConnectionAddr(o.SDP)))
	u.mu.Lock()
	u.placing[c] = struct{}{}
	u.mu.Unlock()
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		defer func() {
			u.mu.Lock()
			delete(u.placing, c)
			u.mu.Unlock()
			close(c.inviteDone)
		}()
		c.runInvite(tx, req, build)
	}()
	return c, nil
}

// Cancel gives up an outbound call that has not connected (RFC 3261 9.1:
// the CANCEL goes once the carrier sent a provisional response). Failed
// follows, usually with 487. It does nothing once the call connected or
// ended, and never blocks.
func (c *Call) Cancel() {
	c.cancelOnce.Do(func() { close(c.cancelCh) })
}

// runInvite follows the INVITE transaction to its end: provisional
// responses, digest and 422 retries, CANCEL, and the final response.
func (c *Call) runInvite(tx sip.ClientTransaction, req *sip.Request, build func(seq uint32, minSE int) *sip.Request) {
	u, t := c.ua, c.trunk
	var (
		provisional bool // a provisional response came: CANCEL may go
		canceled    bool // Cancel was called or the UA is closing
		cancelSent  bool
		authTries   int
		minSE       int
	)
	cancelCh, closing := c.cancelCh, u.ctx.Done()
	sendCancel := func() {
		cancelSent = true
		cancel := cancelFor(req)
		u.wg.Add(1)
		go func() {
			defer u.wg.Done()
			ctx, stop := context.WithTimeout(context.Background(), sip.Timer_F)
			defer stop()
			if _, err := u.roundTrip(ctx, t, cancel, true); err != nil {
				c.log.Debug("sip: CANCEL unanswered", slog.Any("err", err))
			}
		}()
	}
	fail := func(f Failure) {
		if !c.end() {
			return
		}
		c.log.Info("sip: call failed", slog.Int("code", f.Code), slog.Int("sipCode", f.SIPCode), slog.String("sipReason", f.SIPReason))
		c.emit(func(ev Events) {
			if ev.Failed != nil {
				ev.Failed(f)
			}
		})
	}
	for {
		select {
		case <-cancelCh:
			cancelCh, canceled = nil, true
			if provisional && !cancelSent {
				sendCancel()
			}
			continue
		case <-closing:
			closing, canceled = nil, true
			if provisional && !cancelSent {
				sendCancel()
			}
			continue
		case <-tx.Done():
			err := tx.Err()
			if canceled {
				fail(FailureFor(487, "Request Terminated"))
				return
			}
			f := FailureFor(0, "")
			if err != nil {
				f.SIPReason = err.Error()
			}
			fail(f)
			return
		case res := <-tx.Responses():
			code := res.StatusCode
			switch {
			case code == 100:
				provisional = true
				if canceled && !cancelSent {
					sendCancel()
				}
			case res.IsProvisional():
				provisional = true
				if canceled {
					if !cancelSent {
						sendCancel()
					}
					continue
				}
				sdp := sdpBody(res)
				c.log.Debug("sip: progress", slog.Int("code", code), slog.String("sdpAddr", sdpConnectionAddr(sdp)))
				c.emit(func(ev Events) {
					if ev.Progress != nil {
						ev.Progress(code, sdp)
					}
				})
			case res.IsSuccess():
				if f := c.answered(tx, req, res, canceled); f != nil {
					fail(*f)
				}
				return
			case (code == 401 || code == 407) && authTries < 2 && !canceled && t.cfg.Password != "":
				authTries++
				next := build(c.nextSeq(), minSE)
				copyAuth(req, next)
				if err := t.authorize(next, res); err != nil {
					c.log.Warn("sip: cannot answer the INVITE's challenge", slog.Any("err", err))
					fail(FailureFor(code, res.Reason))
					return
				}
				if !c.resend(&tx, &req, next) {
					fail(FailureFor(0, "resend failed"))
					return
				}
				provisional = false
			case code == 422 && minSE == 0 && !canceled:
				// Session Interval Too Small (RFC 4028 6): ask again with
				// the carrier's Min-SE.
				n := headerInt(res, "Min-SE")
				if n <= 0 || n > 86400 {
					fail(FailureFor(code, res.Reason))
					return
				}
				minSE = n
				next := build(c.nextSeq(), minSE)
				copyAuth(req, next)
				if !c.resend(&tx, &req, next) {
					fail(FailureFor(0, "resend failed"))
					return
				}
				provisional = false
			default:
				fail(FailureFor(code, res.Reason))
				return
			}
		}
	}
}

// nextSeq takes the next local CSeq.
func (c *Call) nextSeq() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.localSeq++
	return c.localSeq
}

// resend ends *tx and sends next in a new transaction.
func (c *Call) resend(tx *sip.ClientTransaction, req **sip.Request, next *sip.Request) bool {
	(*tx).Terminate()
	ntx, err := c.ua.request(context.Background(), c.trunk, next, false)
	if err != nil {
		c.log.Warn("sip: INVITE resend failed", slog.Any("err", err))
		return false
	}
	*tx, *req = ntx, next
	return true
}

// errNoAnswerer: a delayed offer's 2xx came to a call whose events take no offers.
var errNoAnswerer = errors.New("no Events.AnswerOffer for a delayed offer")

// answered handles the 2xx of our INVITE: the dialog is set up from it
// and acknowledged. A 2xx that crossed our CANCEL (RFC 3261 15), or whose
// offer (to an INVITE without one) cannot be answered, is acknowledged and
// hung up at once, and answered returns how the call failed.
func (c *Call) answered(tx sip.ClientTransaction, req *sip.Request, res *sip.Response, canceled bool) *Failure {
	c.mu.Lock()
	if to := res.To(); to != nil {
		c.remoteTag, _ = to.Params.Get("tag")
	}
	if ct := res.Contact(); ct != nil {
		c.target = *ct.Address.Clone()
	}
	// The route set is the 2xx's Record-Route in reverse (RFC 3261
	// 12.1.2); without one, requests keep going through the outbound
	// proxy when there is one.
	if rr := recordRoutes(res); len(rr) > 0 {
		for i, j := 0, len(rr)-1; i < j; i, j = i+1, j-1 {
			rr[i], rr[j] = rr[j], rr[i]
		}
		c.routes = rr
	}
	c.remoteSDP = sdpBody(res)
	if h := res.GetHeader("Allow"); h != nil {
		c.peerAllow = h.Value()
	}
	c.key = dialogKey(c.callID, c.localTag, c.remoteTag)
	c.state = stateConfirmed
	sdp, delayed := c.remoteSDP, c.localSDP == ""
	c.mu.Unlock()
	// A delayed offer is answered in the ACK; one that cannot be is
	// acknowledged and hung up (RFC 3261 13.2.2.4).
	var answer string
	answerErr := errors.New("the 2xx of an INVITE without an offer has none")
	if delayed && sdp != "" && !canceled {
		c.emit(func(ev Events) {
			if answerErr = errNoAnswerer; ev.AnswerOffer != nil {
				answer, answerErr = ev.AnswerOffer(sdp)
			}
		})
	}
	if delayed && answerErr == nil {
		c.mu.Lock()
		c.localSDP = answer
		c.mu.Unlock()
	}
	refused := delayed && answerErr != nil
	// The dialog is known before the ACK goes: the carrier may hang up
	// as soon as it has it.
	added := !canceled && !refused && c.ua.addCall(c)
	c.ackSuccess(tx, req, res, answer)
	failure := FailureFor(487, "Request Terminated")
	if refused && !canceled {
		c.log.Warn("sip: offer in the answer refused", slog.Any("err", answerErr))
		failure = FailureFor(488, "Not Acceptable Here")
	}
	if !added {
		c.ua.wg.Add(1)
		go func() {
			defer c.ua.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), sip.Timer_F)
			defer cancel()
			if err := c.sendBye(ctx); err != nil {
				c.log.Debug("sip: BYE after a crossed CANCEL failed", slog.Any("err", err))
			}
		}()
		return &failure
	}
	c.log.Info("sip: call answered", slog.String("sdpAddr", sdpConnectionAddr(sdp)))
	c.startTimerUAC(res)
	c.emit(func(ev Events) {
		if ev.Answered != nil {
			ev.Answered(sdp)
		}
	})
	return nil
}

// recordRoutes returns the Record-Route URIs of a message, in order.
func recordRoutes(m interface{ GetHeaders(string) []sip.Header }) []sip.Uri {
	var out []sip.Uri
	for _, h := range m.GetHeaders("Record-Route") {
		for _, v := range splitAddrList(h.Value()) {
			var u sip.Uri
			params := sip.NewParams()
			if _, err := sip.ParseAddressValue(v, &u, &params); err == nil && u.Host != "" {
				out = append(out, u)
			}
		}
	}
	return out
}

// splitAddrList splits a header value holding several name-addrs at the
// commas outside <> and quotes.
func splitAddrList(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			quoted = !quoted
		case '<':
			if !quoted {
				depth++
			}
		case '>':
			if !quoted && depth > 0 {
				depth--
			}
		case ',':
			if !quoted && depth == 0 {
				out = append(out, strings.TrimSpace(v[start:i]))
				start = i + 1
			}
		}
	}
	if s := strings.TrimSpace(v[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// cancelFor builds the CANCEL of an INVITE we sent (RFC 3261 9.1): its
// Request-URI, top Via, From, To, Call-ID, CSeq number and Route.
func cancelFor(inv *sip.Request) *sip.Request {
	req := sip.NewRequest(sip.CANCEL, *inv.Recipient.Clone())
	req.AppendHeader(sip.HeaderClone(inv.Via()))
	req.AppendHeader(sip.HeaderClone(inv.From()))
	req.AppendHeader(sip.HeaderClone(inv.To()))
	req.AppendHeader(sip.HeaderClone(inv.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	for _, h := range inv.GetHeaders("Route") {
		req.AppendHeader(sip.HeaderClone(h))
	}
	req.SetTransport(inv.Transport())
	req.SetDestination(inv.Destination())
	return req
}

// headerInt reads a header holding a number (Min-SE: "90;param").
func headerInt(m interface{ GetHeader(string) sip.Header }, name string) int {
	h := m.GetHeader(name)
	if h == nil {
		return 0
	}
	v, _, _ := strings.Cut(h.Value(), ";")
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0
	}
	return n
}

// sanitizeName keeps a display name that can be quoted in a header.
func sanitizeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 64 {
		s = string(r[:64])
	}
	return strings.TrimSpace(s)
}
