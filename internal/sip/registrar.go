package sip

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The registrar (RFC 3261 10.3) lets the phones of the account's
// extensions register from any address: a REGISTER is challenged (401),
// its digest answer checked against the device's HA1, and its contacts
// kept in memory as bindings until they run out. Calls to a phone go to
// the address its registration came from (Binding.Source).

const (
	// defaultRegisterExpires is a binding's lifetime when the phone asks
	// for none (RFC 3261 10.2.1.1 suggests an hour).
	defaultRegisterExpires = time.Hour
	// minRegisterExpires is the shortest lifetime granted; a phone asking
	// for less gets 423 with Min-Expires (RFC 3261 10.3 step 7).
	minRegisterExpires = 60 * time.Second
	// maxRegisterExpires is the longest; longer requests are shortened.
	maxRegisterExpires = time.Hour
	// maxBindingsPerDevice bounds one phone's contacts; a new one past it
	// replaces the one that runs out first.
	maxBindingsPerDevice = 10
	// deviceLookupTimeout bounds one look-up of a device's credentials.
	deviceLookupTimeout = 5 * time.Second
)

// registrar holds the bindings of the phones and what their digest checks
// need.
type registrar struct {
	nonces  nonces
	limiter *authLimiter
	// minExpires is the shortest lifetime granted (tests shorten it).
	minExpires time.Duration

	mu       sync.Mutex
	bindings map[string][]*binding // by device username
	closed   bool

	// pending are the changes OnRegistration has yet to hear of, in
	// order; dispatching is set while a goroutine reports them.
	pending     []regEvent
	dispatching bool
}

// binding is a Binding as the registrar keeps it.
type binding struct {
	Binding
	key    string // the contact URI as compared (RFC 3261 19.1.4, roughly)
	callID string
	cseq   uint32
	timer  *time.Timer
}

func newRegistrar(realm string) *registrar {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read does not fail
	return &registrar{
		nonces:     nonces{key: key, realm: realm},
		limiter:    newAuthLimiter(defaultAuthBurst, defaultAuthRefill),
		minExpires: minRegisterExpires,
		bindings:   map[string][]*binding{},
	}
}

// registrarOn reports whether phones may register.
func (u *UA) registrarOn() bool { return u.cfg.Devices != nil }

// Registered returns the bindings the phone with that SIP username holds,
// oldest first; none when it is not registered.
func (u *UA) Registered(username string) []Binding {
	r := u.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	var out []Binding
	for _, b := range r.bindings[username] {
		if b.Expires.After(now) {
			out = append(out, b.Binding)
		}
	}
	return out
}

// current returns the binding of the phone for that contact, if it is
// still registered.
func (r *registrar) current(username, contact string) (Binding, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.bindings[username] {
		if b.Contact == contact && b.Expires.After(time.Now()) {
			return b.Binding, true
		}
	}
	return Binding{}, false
}

// bySource returns the binding whose registration came from src over
// transport tr: a request from there comes from that phone.
func (r *registrar) bySource(src netip.AddrPort, tr Transport) (Binding, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	for _, list := range r.bindings {
		for _, b := range list {
			if b.Source == src && b.Transport == tr && b.Expires.After(now) {
				return b.Binding, true
			}
		}
	}
	return Binding{}, false
}

// forgetDevice removes every binding of a phone whose device is gone.
func (u *UA) forgetDevice(username string) {
	r := u.reg
	r.mu.Lock()
	gone := r.bindings[username]
	delete(r.bindings, username)
	for _, b := range gone {
		b.timer.Stop()
	}
	r.enqueueLocked(nil, gone)
	r.mu.Unlock()
	u.dispatch()
}

// close stops the bindings' timers; nothing is reported after it.
func (r *registrar) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for _, list := range r.bindings {
		for _, b := range list {
			b.timer.Stop()
		}
	}
	r.bindings = map[string][]*binding{}
	r.pending = nil
}

// regEvent is one change OnRegistration reports.
type regEvent struct {
	b  Binding
	up bool
}

// enqueueLocked queues the report of removed bindings (down), then of
// added or changed ones (up); the caller holds r.mu and calls dispatch
// once it let it go.
func (r *registrar) enqueueLocked(up, down []*binding) {
	for _, b := range down {
		r.pending = append(r.pending, regEvent{b.Binding, false})
	}
	for _, b := range up {
		r.pending = append(r.pending, regEvent{b.Binding, true})
	}
}

// dispatch reports the queued changes to OnRegistration, one at a time
// and in order. A goroutine that finds another reporting leaves its
// changes to it, so no lock is held while the callback runs.
func (u *UA) dispatch() {
	r := u.reg
	cb := u.cfg.OnRegistration
	r.mu.Lock()
	if r.dispatching {
		r.mu.Unlock()
		return
	}
	r.dispatching = true
	for len(r.pending) > 0 {
		evs := r.pending
		r.pending = nil
		r.mu.Unlock()
		if cb != nil {
			for _, e := range evs {
				cb(e.b, e.up)
			}
		}
		r.mu.Lock()
	}
	r.dispatching = false
	r.mu.Unlock()
}

// expire removes a binding whose time ran out.
func (u *UA) expire(b *binding) {
	r := u.reg
	r.mu.Lock()
	list := r.bindings[b.Device.Username]
	i := slices.Index(list, b)
	if r.closed || i < 0 || time.Now().Before(b.Expires) {
		r.mu.Unlock() // refreshed, removed or closing meanwhile
		return
	}
	r.setLocked(b.Device.Username, slices.Delete(list, i, i+1))
	r.enqueueLocked(nil, []*binding{b})
	r.mu.Unlock()
	u.log.Info("sip: phone registration ran out", slog.String("device", b.Device.Username), slog.String("contact", b.Contact))
	u.dispatch()
}

func (r *registrar) setLocked(username string, list []*binding) {
	if len(list) == 0 {
		delete(r.bindings, username)
		return
	}
	r.bindings[username] = list
}

// contactReq is one Contact of a REGISTER.
type contactReq struct {
	uri     sip.Uri
	key     string
	expires time.Duration
}

// requestContacts reads the Contacts of a REGISTER and the lifetime each
// asks for (its expires parameter, else the Expires header, else the
// default; RFC 3261 10.3 step 7). wildcard is a "Contact: *".
func requestContacts(req *sip.Request) (list []contactReq, wildcard bool, ok bool) {
	def := defaultRegisterExpires
	if h := req.GetHeader("Expires"); h != nil {
		n, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
		if err != nil {
			return nil, false, false
		}
		def = time.Duration(n) * time.Second
	}
	for _, h := range req.GetHeaders("Contact") {
		for _, v := range splitAddrList(h.Value()) {
			if v == "*" {
				wildcard = true
				continue
			}
			var uri sip.Uri
			params := sip.NewParams()
			if _, err := sip.ParseAddressValue(v, &uri, &params); err != nil || uri.Host == "" || uri.Wildcard {
				return nil, false, false
			}
			c := contactReq{uri: uri, key: contactKey(uri), expires: def}
			if e, ok := params.Get("expires"); ok {
				n, err := strconv.ParseUint(strings.TrimSpace(e), 10, 32)
				if err != nil {
					return nil, false, false
				}
				c.expires = time.Duration(n) * time.Second
			}
			list = append(list, c)
		}
	}
	if wildcard && (len(list) > 0 || def != 0 || req.GetHeader("Expires") == nil) {
		return nil, false, false // '*' only alone and with Expires: 0 (RFC 3261 10.2.2)
	}
	return list, wildcard, true
}

// contactKey is a contact URI as bindings compare it: scheme, user, host
// and port, case-folded where RFC 3261 19.1.4 folds them, and the
// transport parameter.
func contactKey(u sip.Uri) string {
	port := u.Port
	if port == 0 {
		port = 5060
	}
	tr, _ := u.UriParams.Get("transport")
	return strings.ToLower(u.Scheme) + ":" + u.User + "@" + strings.ToLower(u.Host) + ":" + strconv.Itoa(port) + ";" + strings.ToLower(tr)
}

// sourceOf returns the address a request came from.
func sourceOf(req *sip.Request) (netip.AddrPort, bool) {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// transportOf returns the transport a request came over.
func transportOf(req *sip.Request) Transport {
	return Transport(strings.ToLower(req.Transport()))
}

// onRegister handles a REGISTER from a phone (RFC 3261 10.3).
func (u *UA) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	if !u.registrarOn() {
		u.onOther(req, tx)
		return
	}
	src, ok := sourceOf(req)
	to, cid, cseq := req.To(), req.CallID(), req.CSeq()
	if !ok || to == nil || cid == nil || cseq == nil {
		u.respond(tx, req, 400, "Bad Request")
		return
	}
	if u.ctx.Err() != nil {
		u.respond(tx, req, 503, "Service Unavailable")
		return
	}
	if bad := unsupportedRequire(req); bad != "" {
		u.respond(tx, req, 420, "Bad Extension", sip.NewHeader("Unsupported", bad))
		return
	}
	tr := transportOf(req)
	if u.listeners[tr] == nil {
		u.respond(tx, req, 400, "Bad Request") // a transport we do not listen on
		return
	}
	dev, ok := u.authorizeDevice(req, tx, src, false)
	if !ok {
		return
	}
	// The digest user registers only its own address of record (RFC
	// 3261 10.3 step 3): To's user is the device's username.
	if to.Address.User != dev.Username {
		u.log.Warn("sip: phone registers an address of record not its own",
			slog.String("device", dev.Username), slog.String("to", to.Address.User), slog.String("source", src.String()))
		u.respond(tx, req, 403, "Forbidden")
		return
	}
	contacts, wildcard, ok := requestContacts(req)
	if !ok {
		u.respond(tx, req, 400, "Bad Request")
		return
	}
	r := u.reg
	for _, c := range contacts {
		if c.expires > 0 && c.expires < r.minExpires {
			u.respond(tx, req, 423, "Interval Too Brief",
				sip.NewHeader("Min-Expires", strconv.Itoa(int(r.minExpires/time.Second))))
			return
		}
	}
	if len(contacts) > maxBindingsPerDevice {
		u.respond(tx, req, 403, "Forbidden")
		return
	}
	from := regSource{callID: cid.Value(), seq: cseq.SeqNo, src: src, tr: tr, now: time.Now()}
	if h := req.GetHeader("User-Agent"); h != nil {
		from.userAgent = sanitizeName(h.Value())
	}
	dev.HA1 = ""

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		u.respond(tx, req, 503, "Service Unavailable")
		return
	}
	list, up, down, ok := u.bindLocked(dev, contacts, wildcard, from)
	if !ok {
		// An older request overtaken by a newer one of the same phone
		// (RFC 3261 10.3 step 7).
		r.mu.Unlock()
		u.respond(tx, req, 500, "Server Internal Error", sip.NewHeader("Retry-After", "1"))
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	for _, b := range list {
		var uri sip.Uri
		if err := sip.ParseUri(b.Contact, &uri); err != nil {
			continue
		}
		h := &sip.ContactHeader{Address: uri, Params: sip.NewParams()}
		h.Params.Add("expires", strconv.Itoa(int(max(time.Second, b.Expires.Sub(from.now)).Round(time.Second)/time.Second)))
		res.AppendHeader(h)
	}
	res.AppendHeader(sip.NewHeader("Date", from.now.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")))
	r.enqueueLocked(up, down)
	r.mu.Unlock()
	for _, b := range up {
		u.log.Info("sip: phone registered", slog.String("device", b.Device.Username), slog.String("contact", b.Contact),
			slog.String("source", b.Source.String()), slog.String("transport", string(b.Transport)), slog.String("userAgent", b.UserAgent))
	}
	for _, b := range down {
		u.log.Info("sip: phone unregistered", slog.String("device", b.Device.Username), slog.String("contact", b.Contact))
	}
	if err := tx.Respond(res); err != nil {
		u.log.Debug("sip: respond failed", slog.Int("code", 200), slog.String("method", "REGISTER"), slog.Any("err", err))
	}
	u.dispatch()
}

// regSource is where a REGISTER came from and what identifies it.
type regSource struct {
	callID    string
	seq       uint32
	src       netip.AddrPort
	tr        Transport
	userAgent string
	now       time.Time
}

// bindLocked applies a REGISTER's contacts to the phone's bindings (RFC
// 3261 10.3 steps 6-8): '*' removes them all, expires 0 one, others are
// added or refreshed. It returns the phone's bindings after it, those
// added or whose address changed (up) and those removed (down); ok is
// false, and nothing changed, when the request is older than a binding
// it names. The caller holds r.mu.
func (u *UA) bindLocked(dev Device, contacts []contactReq, wildcard bool, from regSource) (list, up, down []*binding, ok bool) {
	r := u.reg
	list = slices.Clone(r.bindings[dev.Username])
	for _, c := range contacts {
		i := slices.IndexFunc(list, func(b *binding) bool { return b.key == c.key })
		if i >= 0 && list[i].callID == from.callID && from.seq <= list[i].cseq {
			return nil, nil, nil, false
		}
	}
	if wildcard {
		down, list = list, nil
	}
	for _, c := range contacts {
		i := slices.IndexFunc(list, func(b *binding) bool { return b.key == c.key })
		if c.expires == 0 {
			if i >= 0 {
				down = append(down, list[i])
				list = slices.Delete(list, i, i+1)
			}
			continue
		}
		var b *binding
		if i >= 0 {
			b = list[i]
			if b.Source != from.src || b.Transport != from.tr || b.Contact != c.uri.String() {
				up = append(up, b)
			}
			b.Contact, b.Source, b.Transport, b.UserAgent = c.uri.String(), from.src, from.tr, from.userAgent
		} else {
			b = &binding{Binding: Binding{Device: dev, Contact: c.uri.String(), Source: from.src, Transport: from.tr, UserAgent: from.userAgent}, key: c.key}
			if len(list) >= maxBindingsPerDevice {
				first := 0
				for j, o := range list {
					if o.Expires.Before(list[first].Expires) {
						first = j
					}
				}
				down = append(down, list[first])
				list = slices.Delete(list, first, first+1)
			}
			list = append(list, b)
			up = append(up, b)
		}
		exp := min(c.expires, maxRegisterExpires)
		b.callID, b.cseq = from.callID, from.seq
		b.Expires = from.now.Add(exp)
		if b.timer == nil {
			b.timer = time.AfterFunc(exp, func() { u.expire(b) })
		} else {
			b.timer.Reset(exp)
		}
	}
	for _, b := range down {
		b.timer.Stop()
	}
	r.setLocked(dev.Username, list)
	return list, up, down, true
}

// authorizeDevice checks the digest answer of a REGISTER (401 and
// Authorization) or of an INVITE (proxy: 407 and Proxy-Authorization)
// from a phone. Where it does not prove a device it answers the request
// itself (a challenge, 403 or 500) and returns false.
func (u *UA) authorizeDevice(req *sip.Request, tx sip.ServerTransaction, src netip.AddrPort, proxy bool) (Device, bool) {
	r := u.reg
	now := time.Now()
	code, reason, chName, authName := 401, "Unauthorized", "WWW-Authenticate", "Authorization"
	if proxy {
		code, reason, chName, authName = 407, "Proxy Authentication Required", "Proxy-Authenticate", "Proxy-Authorization"
	}
	if r.limiter.blocked(src.Addr(), now) {
		u.log.Debug("sip: request from an address that failed authentication too often refused",
			slog.String("method", string(req.Method)), slog.String("source", src.String()))
		u.respond(tx, req, 403, "Forbidden")
		return Device{}, false
	}
	dev, res, err := u.checkDigest(req, authName, src, now)
	switch {
	case err != nil:
		u.log.Error("sip: device look-up failed", slog.Any("err", err))
		u.respond(tx, req, 500, "Server Internal Error", sip.NewHeader("Retry-After", "5"))
		return Device{}, false
	case res == authOK:
		return dev, true
	case res == authFailed:
		if r.limiter.fail(src.Addr(), now) {
			u.log.Warn("sip: address refused after repeated authentication failures", slog.String("source", src.String()))
		}
		u.respond(tx, req, 403, "Forbidden")
		return Device{}, false
	}
	u.respond(tx, req, code, reason, sip.NewHeader(chName, r.nonces.challenge(src.Addr(), now, res == authStale)))
	return Device{}, false
}

// checkDigest reads the credentials of header authName for our realm and
// checks them.
func (u *UA) checkDigest(req *sip.Request, authName string, src netip.AddrPort, now time.Time) (Device, authResult, error) {
	r := u.reg
	var creds []string
	for _, h := range req.GetHeaders(authName) {
		creds = append(creds, h.Value())
	}
	for _, v := range creds {
		c := parseCredentials(v, r.nonces.realm)
		if c == nil {
			continue // another realm's, or not digest
		}
		ok, stale := r.nonces.check(c.Nonce, src.Addr(), now)
		if !ok {
			// Not a nonce of ours (one from before a restart): a fresh
			// challenge, which costs the phone nothing.
			return Device{}, authNone, nil
		}
		dev, found := Device{}, false
		if ValidDeviceUsername(c.Username) {
			ctx, cancel := context.WithTimeout(u.ctx, deviceLookupTimeout)
			var err error
			dev, found, err = u.cfg.Devices.LookupDevice(ctx, c.Username)
			cancel()
			if err != nil {
				return Device{}, authNone, err
			}
		}
		valid := found && dev.Username == c.Username && dev.Realm == r.nonces.realm
		ha1 := HA1(c.Username, r.nonces.realm, "") // an answer that cannot match, checked the same way
		if valid {
			ha1 = dev.HA1
		}
		if !verifyDigest(c, string(req.Method), ha1) || !valid {
			if found && dev.Realm != r.nonces.realm {
				u.log.Warn("sip: device was made for another realm: make it again", slog.String("device", dev.Username),
					slog.String("deviceRealm", dev.Realm), slog.String("realm", r.nonces.realm))
			}
			u.log.Warn("sip: phone authentication failed", slog.String("method", string(req.Method)),
				slog.String("username", sanitizeName(c.Username)), slog.String("source", src.String()), slog.Bool("known", found))
			return Device{}, authFailed, nil
		}
		if stale {
			return Device{}, authStale, nil
		}
		return dev, authOK, nil
	}
	return Device{}, authNone, nil
}
