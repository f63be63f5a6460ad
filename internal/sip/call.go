package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Direction of a call as the UA sees it.
type Direction string

// Directions.
const (
	Outbound Direction = "outbound"
	Inbound  Direction = "inbound"
)

// EndCause says why a connected call ended without our asking.
type EndCause string

// End causes.
const (
	EndRemoteBye      EndCause = "remoteBye"      // the carrier hung up
	EndSessionExpired EndCause = "sessionExpired" // RFC 4028: no refresh in time, or the refresh failed
	EndNoAck          EndCause = "noAck"          // our 200 OK was never acknowledged
	EndDialogGone     EndCause = "dialogGone"     // the carrier no longer knows the call (481, 408)
	EndShutdown       EndCause = "shutdown"       // the UA closed
)

// Events are what a call reports. Every field may be nil. Callbacks of one
// call never run at the same time; they may call the Call's methods.
type Events struct {
	// Progress: an outbound call rings (180) or plays early media (183,
	// with the carrier's SDP answer in sdp; "" without).
	Progress func(code int, sdp string)
	// Answered: an outbound call connected; sdp is the answer.
	Answered func(sdp string)
	// Failed: an outbound call ended without connecting. Final.
	Failed func(Failure)
	// Canceled: the caller of an inbound call gave up before it was
	// answered (CANCEL). Final.
	Canceled func()
	// Ended: a connected call ended by the carrier or a timer. Final.
	Ended func(EndCause)
	// Offer: the carrier sent a new SDP offer in a connected call
	// (re-INVITE or UPDATE: hold, resume, a media change). It returns the
	// answer; an error refuses the offer (488) and the call goes on as
	// before. Nil refuses every new offer.
	Offer func(sdp string) (string, error)
	// AnswerOffer: the 2xx of an outbound call placed without an offer
	// (OutboundCall.SDP empty: a delayed offer, as phones are rung)
	// carries the peer's offer; it returns the answer, which goes in the
	// ACK. An error, or no AnswerOffer, hangs the call up: Failed (503).
	AnswerOffer func(offer string) (answer string, err error)
	// DTMF: the carrier sent a key in an INFO.
	DTMF func(DTMF)
}

// InboundHandler receives the INVITEs that come from a trunk's addresses.
type InboundHandler interface {
	// Incoming is called once per new inbound call, before any response
	// but 100 Trying. It returns quickly, with the events the call reports
	// to, and answers later through c: Ring, Answer or Reject.
	Incoming(c *Call, o Offer) Events
}

// Offer is what an inbound INVITE asks for.
type Offer struct {
	Trunk string
	// To is the dialled number: the Request-URI's user (a DID), else To's.
	To string
	// From is the caller's number: P-Asserted-Identity's user when the
	// trunk sent one, else From's. FromName is the display name.
	From     string
	FromName string
	SDP      string
}

// callState is where a call's dialog is.
type callState int

const (
	stateEarly     callState = iota // INVITE sent or received, no final response
	stateConfirmed                  // 2xx sent or received
	stateEnded
)

// Call is one call on a trunk, either direction: the INVITE dialog and its
// session timer.
type Call struct {
	ua    *UA
	trunk *trunk // for a phone's call, one made for it (deviceTrunk)
	dir   Direction
	log   *slog.Logger
	// device is the registered phone of the call, nil for a trunk call;
	// dest is where requests within its dialog go: the address the phone
	// sends from, whatever its Contact says (NAT).
	device *Device
	dest   string

	evMu sync.Mutex // held while a callback runs
	ev   Events

	mu        sync.Mutex
	state     callState
	key       string
	callID    string
	localTag  string
	remoteTag string
	local     sip.Uri // From of our requests
	localName string
	remote    sip.Uri // To of our requests
	remName   string
	localSeq  uint32
	remoteSeq uint32
	target    sip.Uri   // remote target: the peer's Contact
	routes    []sip.Uri // route set, in the order requests carry it
	localSDP  string
	remoteSDP string
	peerAllow string                   // the peer's Allow header
	pending   bool                     // one of our re-INVITEs is in progress
	acks      map[uint32]chan struct{} // 2xx we sent, waiting for their ACK
	timer     *sessionTimer
	done      chan struct{}

	// outbound
	cancelOnce sync.Once
	cancelCh   chan struct{}
	inviteDone chan struct{} // closed when the INVITE transaction is over

	// inbound
	inv       *sip.Request // the INVITE, with our To tag
	tx        sip.ServerTransaction
	finalOnce sync.Once
	final     chan struct{} // closed once a final response is sent or the caller cancelled
}

func newCall(u *UA, t *trunk, dir Direction, callID string) *Call {
	return &Call{
		ua: u, trunk: t, dir: dir, callID: callID,
		log:        t.log.With(slog.String("sipCallId", callID), slog.String("direction", string(dir))),
		acks:       map[uint32]chan struct{}{},
		done:       make(chan struct{}),
		cancelCh:   make(chan struct{}),
		inviteDone: make(chan struct{}),
		final:      make(chan struct{}),
	}
}

// ID returns the SIP Call-ID.
func (c *Call) ID() string { return c.callID }

// Trunk returns the trunk's name ("" for a call to or from a phone).
func (c *Call) Trunk() string { return c.trunk.cfg.Name }

// Direction returns the call's direction.
func (c *Call) Direction() Direction { return c.dir }

// Done is closed when the call has ended, whichever way.
func (c *Call) Done() <-chan struct{} { return c.done }

// RemoteSDP returns the carrier's last SDP (its answer or offer).
func (c *Call) RemoteSDP() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remoteSDP
}

// emit runs f with the call's events, one callback at a time.
func (c *Call) emit(f func(ev Events)) {
	c.evMu.Lock()
	defer c.evMu.Unlock()
	f(c.ev)
}

// endLocked marks the call ended; the caller holds c.mu and must then
// call c.afterEnd.
func (c *Call) endLocked() bool {
	if c.state == stateEnded {
		return false
	}
	c.state = stateEnded
	if c.timer != nil {
		c.timer.stop()
	}
	close(c.done)
	return true
}

// afterEnd forgets the dialog once it ended.
func (c *Call) afterEnd() { c.ua.removeCall(c) }

// end marks the call ended; false when it already was.
func (c *Call) end() bool {
	c.mu.Lock()
	ok := c.endLocked()
	c.mu.Unlock()
	if ok {
		c.afterEnd()
	}
	return ok
}

// newRequest builds a request within the dialog (RFC 3261 12.2.1.1). seq 0
// takes the next local CSeq; an ACK passes its INVITE's.
func (c *Call) newRequest(method sip.RequestMethod, seq uint32) *sip.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq == 0 {
		c.localSeq++
		seq = c.localSeq
	}
	req := sip.NewRequest(method, *c.target.Clone())
	from := &sip.FromHeader{DisplayName: c.localName, Address: *c.local.Clone(), Params: sip.NewParams()}
	from.Params.Add("tag", c.localTag)
	to := &sip.ToHeader{DisplayName: c.remName, Address: *c.remote.Clone(), Params: sip.NewParams()}
	if c.remoteTag != "" {
		to.Params.Add("tag", c.remoteTag)
	}
	req.AppendHeader(from)
	req.AppendHeader(to)
	cid := sip.CallIDHeader(c.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	for _, r := range c.routes {
		req.AppendHeader(&sip.RouteHeader{Address: *r.Clone()})
	}
	if method == sip.INVITE || method == sip.UPDATE {
		req.AppendHeader(c.trunk.contact())
		req.AppendHeader(sip.NewHeader("Allow", allowMethods))
		req.AppendHeader(sip.NewHeader("Supported", "timer"))
	}
	if method != sip.ACK {
		req.AppendHeader(sip.NewHeader("User-Agent", c.ua.cfg.UserAgent))
	}
	req.SetTransport(c.trunk.sipTransport())
	if c.dest != "" {
		req.SetDestination(c.dest)
	}
	return req
}

// Bye hangs up. A connected call gets a BYE; an outbound call that still
// rings is cancelled (Cancel); an inbound one not yet answered is refused
// with 480. It returns once the carrier answered the BYE or ctx is done;
// the call has ended either way.
func (c *Call) Bye(ctx context.Context) error {
	c.mu.Lock()
	st := c.state
	c.mu.Unlock()
	switch {
	case st == stateEnded:
		return nil
	case st == stateEarly && c.dir == Outbound:
		c.Cancel()
		return nil
	case st == stateEarly:
		return c.Reject(480, "Temporarily Unavailable")
	}
	if !c.end() {
		return nil
	}
	return c.sendBye(ctx)
}

// sendBye sends the BYE of a call already marked ended.
func (c *Call) sendBye(ctx context.Context) error {
	res, err := c.ua.authRoundTrip(ctx, c.trunk, func() *sip.Request { return c.newRequest(sip.BYE, 0) })
	if err != nil {
		return fmt.Errorf("BYE: %w", err)
	}
	if !res.IsSuccess() && res.StatusCode != 481 {
		return &ResponseError{Method: "BYE", Code: res.StatusCode, Reason: res.Reason}
	}
	c.log.Info("sip: call ended by us")
	return nil
}

// endByPeer ends a connected call the carrier or a timer ended: it sends a
// BYE when sendBye, and reports cause.
func (c *Call) endByPeer(cause EndCause, sendBye bool) {
	if !c.end() {
		return
	}
	c.log.Info("sip: call ended", slog.String("cause", string(cause)))
	if sendBye {
		ctx, cancel := context.WithTimeout(context.Background(), sip.Timer_F)
		if err := c.sendBye(ctx); err != nil {
			c.log.Debug("sip: BYE failed", slog.Any("err", err))
		}
		cancel()
	}
	c.emit(func(ev Events) {
		if ev.Ended != nil {
			ev.Ended(cause)
		}
	})
}

// shutdown ends the call as the UA closes.
func (c *Call) shutdown(ctx context.Context) {
	c.mu.Lock()
	st := c.state
	c.mu.Unlock()
	switch {
	case st == stateConfirmed:
		if c.end() {
			if err := c.sendBye(ctx); err != nil {
				c.log.Debug("sip: BYE at shutdown failed", slog.Any("err", err))
			}
			c.emit(func(ev Events) {
				if ev.Ended != nil {
					ev.Ended(EndShutdown)
				}
			})
		}
	case st == stateEarly && c.dir == Inbound:
		if c.Reject(503, "Service Unavailable") == nil {
			c.emit(func(ev Events) {
				if ev.Canceled != nil {
					ev.Canceled()
				}
			})
		}
	}
	// Outbound calls that ring cancel when the UA's context ends.
}

// ReInvite sends a new offer in a connected call (hold: a=sendonly or
// inactive; resume: sendrecv) and returns the carrier's answer. A 491
// (the carrier's own re-INVITE crossed ours) is returned as a
// ResponseError for the caller to retry; 481 or 408 end the call
// (Ended(EndDialogGone)).
func (c *Call) ReInvite(ctx context.Context, sdp string) (string, error) {
	c.mu.Lock()
	if c.state != stateConfirmed || c.pending {
		c.mu.Unlock()
		return "", fmt.Errorf("re-INVITE: %w", ErrCallState)
	}
	c.pending = true
	c.mu.Unlock()
	res, err := c.inDialogInvite(ctx, sdp, nil)
	c.mu.Lock()
	c.pending = false
	c.mu.Unlock()
	if err != nil {
		return "", err
	}
	return string(res.Body()), nil
}

// Reoffer sends a re-INVITE without an offer in a connected call: the peer
// offers in its 2xx, and answer gives the answer that goes in the ACK. A
// desk phone whose call's audio moved to another media address is asked
// so. When answer fails, the ACK carries the offer back unchanged (the
// media as they were: RFC 3261 13.2.2.4 wants an answer in the ACK), and
// the call ends (Ended(EndDialogGone) after a BYE). Errors as ReInvite's.
func (c *Call) Reoffer(ctx context.Context, answer func(offer string) (string, error)) error {
	c.mu.Lock()
	if c.state != stateConfirmed || c.pending {
		c.mu.Unlock()
		return fmt.Errorf("re-INVITE: %w", ErrCallState)
	}
	c.pending = true
	c.mu.Unlock()
	_, err := c.inDialogInvite(ctx, "", answer)
	c.mu.Lock()
	c.pending = false
	c.mu.Unlock()
	return err
}

// inDialogInvite sends a re-INVITE with sdp (a session refresh repeats the
// last one), ACKs its 2xx and returns it. With sdp "", the re-INVITE has
// no body, and the ACK carries what answer gives to the 2xx's offer. Its
// transaction runs on when ctx ends first, so a late 2xx is still
// acknowledged.
func (c *Call) inDialogInvite(ctx context.Context, sdp string, answer func(string) (string, error)) (*sip.Response, error) {
	build := func() *sip.Request {
		req := c.newRequest(sip.INVITE, 0)
		c.addTimerHeaders(req)
		if sdp != "" {
			req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			req.SetBody([]byte(sdp))
		}
		return req
	}
	type result struct {
		res    *sip.Response
		err    error
		answer string // what the ACK carried, for a re-INVITE without an offer
	}
	out := make(chan result, 1)
	c.ua.wg.Add(1)
	go func() {
		defer c.ua.wg.Done()
		tctx, cancel := context.WithTimeout(context.Background(), sip.Timer_B)
		defer cancel()
		req := build()
		for attempt := 0; ; attempt++ {
			tx, err := c.ua.request(tctx, c.trunk, req, false)
			if err != nil {
				out <- result{err: err}
				return
			}
			res, err := finalResponse(tctx, tx)
			if err != nil {
				tx.Terminate()
				out <- result{err: err}
				return
			}
			if (res.StatusCode == 401 || res.StatusCode == 407) && attempt < 2 {
				tx.Terminate()
				next := build()
				copyAuth(req, next)
				if err := c.trunk.authorize(next, res); err != nil {
					out <- result{res: res, err: err}
					return
				}
				req = next
				continue
			}
			r := result{res: res}
			if res.IsSuccess() {
				if answer != nil {
					r.answer, r.err = c.answerOffer2xx(res, answer)
				}
				c.ackSuccess(tx, req, res, r.answer)
			}
			out <- r
			return
		}
	}()
	var r result
	select {
	case r = <-out:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if r.err != nil {
		if errors.Is(r.err, sip.ErrTransactionTimeout) || r.res != nil && r.res.IsSuccess() {
			// No answer to the peer's offer: the call cannot go on.
			go c.endByPeer(EndDialogGone, true)
		}
		return nil, fmt.Errorf("re-INVITE: %w", r.err)
	}
	res := r.res
	if !res.IsSuccess() {
		if res.StatusCode == 481 || res.StatusCode == 408 {
			go c.endByPeer(EndDialogGone, res.StatusCode == 408)
		}
		return nil, &ResponseError{Method: "INVITE", Code: res.StatusCode, Reason: res.Reason}
	}
	c.mu.Lock()
	c.localSDP = sdp
	if answer != nil {
		c.localSDP = r.answer
	}
	if isSDP(contentType(res)) && len(res.Body()) > 0 {
		c.remoteSDP = string(res.Body())
	}
	if ct := res.Contact(); ct != nil {
		c.target = *ct.Address.Clone() // target refresh, RFC 3261 12.2.1.2
	}
	c.mu.Unlock()
	c.sessionRefreshed(res)
	return res, nil
}

// errNoOffer: the 2xx to a re-INVITE without an offer has none.
var errNoOffer = errors.New("the 2xx of a re-INVITE without an offer has none")

// answerOffer2xx answers the offer of the 2xx to a re-INVITE without one.
// When there is none, or answer fails, it returns the offer (or the last
// remote description) as the ACK's body, and the error.
func (c *Call) answerOffer2xx(res *sip.Response, answer func(string) (string, error)) (string, error) {
	offer := ""
	if isSDP(contentType(res)) {
		offer = string(res.Body())
	}
	if offer == "" {
		c.mu.Lock()
		last := c.remoteSDP
		c.mu.Unlock()
		return last, errNoOffer
	}
	a, err := answer(offer)
	if err != nil {
		return offer, err
	}
	return a, nil
}

// ackSuccess acknowledges the 2xx of an INVITE we sent, and each
// retransmission of it (RFC 3261 13.2.2.4).
func (c *Call) ackSuccess(tx sip.ClientTransaction, inv *sip.Request, res *sip.Response, answerSDP string) {
	ack := c.newRequest(sip.ACK, inv.CSeq().SeqNo)
	if answerSDP != "" { // the answer to a delayed offer
		ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		ack.SetBody([]byte(answerSDP))
	}
	send := func() {
		if err := c.ua.write(c.trunk, ack.Clone()); err != nil {
			c.log.Debug("sip: ACK failed", slog.Any("err", err))
		}
	}
	send()
	tx.OnRetransmission(func(r *sip.Response) {
		if r.IsSuccess() {
			send()
		}
	})
}

// contentType returns a message's Content-Type or "".
func contentType(m interface{ ContentType() *sip.ContentTypeHeader }) string {
	if h := m.ContentType(); h != nil {
		return h.Value()
	}
	return ""
}

// sdpBody returns the SDP a message carries, or "".
func sdpBody(m interface {
	ContentType() *sip.ContentTypeHeader
	Body() []byte
}) string {
	b := m.Body()
	if len(b) == 0 || len(b) > maxSDP || !isSDP(contentType(m)) {
		return ""
	}
	return string(b)
}

// retransmit2xx resends a 2xx we sent over UDP until its ACK arrives
// (RFC 3261 13.3.1.4: T1 doubling up to T2, for 64*T1), and reports
// whether it did.
func (c *Call) retransmit2xx(tx sip.ServerTransaction, res *sip.Response, ack <-chan struct{}) bool {
	reliable := c.trunk.cfg.Transport != UDP
	interval := sip.T1
	giveUp := time.NewTimer(c.ua.ackTimeout)
	defer giveUp.Stop()
	next := time.NewTimer(interval)
	defer next.Stop()
	for {
		select {
		case <-ack:
			return true
		case <-giveUp.C:
			return false
		case <-c.done:
			return true
		case <-c.ua.ctx.Done():
			return true
		case <-next.C:
			if !reliable {
				if err := tx.Respond(res); err != nil {
					c.log.Debug("sip: 2xx retransmission failed", slog.Any("err", err))
				}
			}
			interval = min(2*interval, sip.T2)
			next.Reset(interval)
		}
	}
}

// awaitAck returns the channel closed when the ACK of our 2xx to the
// INVITE with CSeq seq arrives.
func (c *Call) awaitAck(seq uint32) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.acks[seq]
	if !ok {
		ch = make(chan struct{})
		c.acks[seq] = ch
	}
	return ch
}

// acked records the ACK of the INVITE with CSeq seq.
func (c *Call) acked(seq uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.acks[seq]; ok {
		select {
		case <-ch:
		default:
			close(ch)
		}
	}
}
