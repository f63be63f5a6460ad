package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// registration is the state one trunk's REGISTERs share (RFC 3261 10.2:
// one Call-ID for every registration of a UA to a registrar, CSeq rising).
type registration struct {
	callID string
	seq    uint32
}

// registerLoop keeps the trunk registered: it registers, refreshes before
// the granted expiry runs out, and after a failure tries again with a
// backoff that doubles up to the UA's maximum. When the UA closes it
// removes the registration. With a lease (several nodes) it runs while
// this node holds it, reports each change to it, and when the lease is
// lost (ctx ends before the UA closes) it stops without un-REGISTER: the
// node that takes the trunk over replaces the binding.
func (t *trunk) registerLoop(ctx context.Context, lease TrunkLease) {
	reg := &registration{callID: sip.GenerateTagN(24) + "@" + t.host}
	backoff := t.ua.retryMin
	registered, tidied := false, lease == nil
	contact := t.contactURI()
	ours := contact.String()
	set := func(f func(st *TrunkStatus), regErr string) {
		st := t.update(f)
		if lease != nil {
			h := TrunkHolding{Registered: st.Registered, RegisteredUntil: st.RegisteredUntil, Error: regErr}
			if st.Registered {
				h.Contact = ours
			}
			lease.Report(h)
		}
	}
	for {
		granted, err := t.register(ctx, reg, t.cfg.RegisterExpiry)
		var wait time.Duration
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			t.log.Warn("sip: registration failed", slog.Any("err", err), slog.Duration("retryIn", backoff))
			set(func(st *TrunkStatus) {
				st.Registered, st.RegisteredUntil = false, time.Time{}
				st.Error = "register: " + err.Error()
			}, "register: "+err.Error())
			registered = false
			// Jitter keeps many trunks to one carrier from retrying in step.
			wait = backoff/2 + rand.N(backoff/2+1)
			backoff = min(2*backoff, t.ua.retryMax)
		} else {
			if !registered {
				t.log.Info("sip: registered", slog.Duration("expires", granted))
			}
			registered = true
			if !tidied {
				// Ours is in place: the binding a holder before us left
				// (it died or was cut off) goes.
				tidied = true
				t.removePrevious(ctx, reg, lease.Previous(), ours)
			}
			backoff = t.ua.retryMin
			until := time.Now().Add(granted)
			set(func(st *TrunkStatus) { st.Registered, st.RegisteredUntil = true, until }, "")
			wait = refreshIn(granted)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
		case <-timer.C:
			_ = t.src.refresh(ctx)
			continue
		}
		break
	}
	closing := t.ua.ctx.Err() != nil
	if registered && closing {
		uctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		if _, err := t.register(uctx, reg, 0); err != nil {
			t.log.Debug("sip: unregister failed", slog.Any("err", err))
		}
		cancel()
	}
	if closing {
		set(func(st *TrunkStatus) { st.Registered, st.RegisteredUntil, st.Error = false, time.Time{}, "stopped" }, "stopped")
	}
}

// removePrevious removes the binding that prev, the lease's holder before
// this node, registered, unless it is this node's own.
func (t *trunk) removePrevious(ctx context.Context, reg *registration, prev TrunkHolding, ours string) {
	if prev.Contact == "" || prev.Contact == ours {
		return
	}
	var u sip.Uri
	if err := sip.ParseUri(prev.Contact, &u); err != nil || u.Scheme != "sip" && u.Scheme != "sips" {
		t.log.Warn("sip: the previous holder's contact does not read", slog.String("contact", prev.Contact))
		return
	}
	if _, err := t.registerAs(ctx, reg, &sip.ContactHeader{Address: u, Params: sip.NewParams()}, 0); err != nil {
		t.log.Warn("sip: the previous holder's registration not removed; it runs out", slog.String("previousNode", prev.Node), slog.Any("err", err))
		return
	}
	t.log.Info("sip: the previous holder's registration removed", slog.String("previousNode", prev.Node))
}

// refreshIn is when to refresh a registration granted for d: a minute
// before it runs out, or halfway through a short one.
func refreshIn(d time.Duration) time.Duration {
	return d - min(d/2, time.Minute)
}

// register sends one REGISTER (answering digest challenges, and 423 with
// the registrar's Min-Expires) and returns the expiry the registrar
// granted. expiry 0 removes the registration.
func (t *trunk) register(ctx context.Context, reg *registration, expiry time.Duration) (time.Duration, error) {
	return t.registerAs(ctx, reg, t.contact(), expiry)
}

// registerAs is register for contact.
func (t *trunk) registerAs(ctx context.Context, reg *registration, contact *sip.ContactHeader, expiry time.Duration) (time.Duration, error) {
	secs := int(expiry / time.Second)
	fromTag := sip.GenerateTagN(16)
	build := func() *sip.Request {
		reg.seq++
		req := sip.NewRequest(sip.REGISTER, t.requestURI(""))
		aor := t.aor(t.cfg.Username)
		from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
		from.Params.Add("tag", fromTag)
		req.AppendHeader(from)
		req.AppendHeader(&sip.ToHeader{Address: aor, Params: sip.NewParams()})
		cid := sip.CallIDHeader(reg.callID)
		req.AppendHeader(&cid)
		req.AppendHeader(&sip.CSeqHeader{SeqNo: reg.seq, MethodName: sip.REGISTER})
		mf := sip.MaxForwardsHeader(70)
		req.AppendHeader(&mf)
		if r := t.route(); r != nil {
			req.AppendHeader(r)
		}
		req.AppendHeader(contact.Clone())
		exp := sip.ExpiresHeader(secs)
		req.AppendHeader(&exp)
		req.AppendHeader(sip.NewHeader("User-Agent", t.ua.cfg.UserAgent))
		req.AppendHeader(sip.NewHeader("Allow", allowMethods))
		req.SetTransport(t.sipTransport())
		return req
	}
	for range 2 {
		res, err := t.ua.authRoundTrip(ctx, t, build)
		if err != nil {
			return 0, fmt.Errorf("REGISTER: %w", err)
		}
		switch {
		case res.IsSuccess():
			if secs == 0 {
				return 0, nil
			}
			return t.grantedExpiry(res, expiry), nil
		case res.StatusCode == 423 && secs > 0:
			// Interval Too Brief: ask again with the registrar's minimum.
			if h := res.GetHeader("Min-Expires"); h != nil {
				if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > secs && n <= 86400 {
					secs = n
					continue
				}
			}
		}
		return 0, fmt.Errorf("REGISTER: %w", &ResponseError{Method: "REGISTER", Code: res.StatusCode, Reason: res.Reason})
	}
	return 0, errors.New("REGISTER: registrar's Min-Expires not honoured")
}

// grantedExpiry reads the expiry the registrar granted our Contact (its
// expires parameter, else the Expires header, else what we asked).
func (t *trunk) grantedExpiry(res *sip.Response, asked time.Duration) time.Duration {
	ours := t.contactURI()
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok || c.Address.Host != ours.Host || c.Address.Port != ours.Port || c.Address.User != ours.User {
			continue
		}
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > 0 {
			return time.Duration(n) * time.Second
		}
	}
	return asked
}
