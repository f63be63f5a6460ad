package sip

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/emiago/sipgo/sip"
)

// Calls to and from registered phones. They run on the machinery of trunk
// calls (call.go, inbound.go, outbound.go) with a trunk made for the
// phone: our address toward it in Via and Contact, the transport it
// registered over, no credentials; and every request of the dialog goes to
// the address the phone sends from (Call.dest).

// fromBinding reports whether req comes from the address and transport a
// phone registered from.
func (u *UA) fromBinding(req *sip.Request) bool {
	src, ok := sourceOf(req)
	if !ok || !u.registrarOn() {
		return false
	}
	_, ok = u.reg.bySource(src, transportOf(req))
	return ok
}

// onDeviceInvite takes a new call from a phone: one from the address a
// registered phone registered from, or one that proves a device's
// credentials (407, then Proxy-Authorization; RFC 3261 22.3). Others get
// the challenge, or 403 once they answered it wrongly.
func (u *UA) onDeviceInvite(req *sip.Request, tx sip.ServerTransaction) {
	src, ok := sourceOf(req)
	if !ok {
		u.respond(tx, req, 400, "Bad Request")
		return
	}
	tr := transportOf(req)
	var dev Device
	if b, ok := u.reg.bySource(src, tr); ok {
		// The phone is still a device of the server: one removed since it
		// registered is let go.
		ctx, cancel := context.WithTimeout(u.ctx, deviceLookupTimeout)
		d, found, err := u.cfg.Devices.LookupDevice(ctx, b.Device.Username)
		cancel()
		switch {
		case err != nil:
			u.log.Error("sip: device look-up failed", slog.Any("err", err))
			u.respond(tx, req, 500, "Server Internal Error", sip.NewHeader("Retry-After", "5"))
			return
		case found && d.ID == b.Device.ID:
			dev = d
		default:
			u.log.Info("sip: registered phone's device is gone", slog.String("device", b.Device.Username))
			u.forgetDevice(b.Device.Username)
		}
	}
	if dev.Username == "" {
		if dev, ok = u.authorizeDevice(req, tx, src, true); !ok {
			return
		}
	}
	dev.HA1 = ""
	t, err := u.deviceTrunk(tr, src, dev.Username)
	if err != nil {
		u.respond(tx, req, 400, "Bad Request")
		return
	}
	u.acceptInvite(req, tx, t, &dev)
}

// deviceTrunk makes the trunk of a call with the phone at src over tr.
func (u *UA) deviceTrunk(tr Transport, src netip.AddrPort, username string) (*trunk, error) {
	l := u.listeners[tr]
	if l == nil {
		return nil, fmt.Errorf("phone %s: no %s listener", username, tr)
	}
	t := &trunk{
		cfg: TrunkConfig{Transport: tr},
		ua:  u,
		src: &sources{},
		log: u.log.With(slog.String("device", username)),
	}
	t.port = l.port
	t.host = u.hostToward(l, src)
	return t, nil
}

// hostToward is our address as the phone at src reaches it, for Via and
// Contact: PublicHost for a phone on a public address; else the
// listener's address, or when it listens on every interface the local
// address that routes to the phone (a phone on the office network reaches
// the server's address there, not the public one).
func (u *UA) hostToward(l *listener, src netip.AddrPort) string {
	a := src.Addr()
	local := a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast()
	switch {
	case u.cfg.PublicHost != "" && !local:
		return u.cfg.PublicHost
	case !l.ip.IsUnspecified():
		return l.ip.String()
	}
	return localAddrToward(src.String())
}

// InviteDevice rings a registered phone: an INVITE to the binding's
// Contact, sent to the address the phone registered from. b is one of
// Registered's; o.To is not used (the Request-URI is the Contact), o.From
// neither; o.CallerID and o.CallerName are presented in From. What follows
// arrives on ev as for Invite: Progress, then Answered or Failed.
// Errors: ErrNotRegistered when the binding is gone or its device no
// longer exists (Devices is asked first), ErrBadNumber, ErrClosed;
// FailureOf maps them.
func (u *UA) InviteDevice(ctx context.Context, b Binding, o OutboundCall, ev Events) (*Call, error) {
	if u.ctx.Err() != nil {
		return nil, fmt.Errorf("invite phone %s: %w", b.Device.Username, ErrClosed)
	}
	cur, ok := u.reg.current(b.Device.Username, b.Contact)
	if !ok {
		return nil, fmt.Errorf("invite phone %s at %s: %w", b.Device.Username, b.Contact, ErrNotRegistered)
	}
	// The phone is still a device of the server: a removed one is let go.
	lctx, cancel := context.WithTimeout(ctx, deviceLookupTimeout)
	d, found, err := u.cfg.Devices.LookupDevice(lctx, cur.Device.Username)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("invite phone %s: look up its device: %w", b.Device.Username, err)
	}
	if !found || d.ID != cur.Device.ID {
		u.log.Info("sip: registered phone's device is gone", slog.String("device", cur.Device.Username))
		u.forgetDevice(cur.Device.Username)
		return nil, fmt.Errorf("invite phone %s: %w", b.Device.Username, ErrNotRegistered)
	}
	var target sip.Uri
	if err := sip.ParseUri(cur.Contact, &target); err != nil {
		return nil, fmt.Errorf("invite phone %s at %s: %w", b.Device.Username, b.Contact, ErrNotRegistered)
	}
	fromUser := o.CallerID
	if fromUser == "" {
		fromUser = "anonymous"
	}
	if !validUser(fromUser) {
		return nil, fmt.Errorf("invite phone from %q: %w", fromUser, ErrBadNumber)
	}
	t, err := u.deviceTrunk(cur.Transport, cur.Source, cur.Device.Username)
	if err != nil {
		return nil, fmt.Errorf("invite phone %s: %w", b.Device.Username, ErrNotRegistered)
	}
	dev := cur.Device
	c := newCall(u, t, Outbound, sip.GenerateTagN(24)+"@"+t.host)
	c.device, c.dest = &dev, cur.Source.String()
	c.ev = ev
	c.localTag = sip.GenerateTagN(16)
	c.local = sip.Uri{Scheme: "sip", User: fromUser, Host: t.host, UriParams: sip.NewParams(), Headers: sip.NewParams()}
	c.localName = sanitizeName(o.CallerName)
	c.remote = sip.Uri{Scheme: "sip", User: dev.Username, Host: t.host, UriParams: sip.NewParams(), Headers: sip.NewParams()}
	c.target = target
	c.localSDP = o.SDP
	c.localSeq = 1
	c.log = c.log.With(slog.String("contact", cur.Contact), slog.String("dest", c.dest))
	return u.placeCall(ctx, c, o)
}
