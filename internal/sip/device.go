package sip

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"net/netip"
	"regexp"
	"strings"
	"time"
)

// DefaultRealm is the digest realm of the registrar when Config.Realm is
// empty. A device's HA1 is bound to the realm it was made for.
const DefaultRealm = "callbridge"

// ErrNotRegistered: InviteDevice was given a binding the registrar no
// longer holds (the phone unregistered, or its registration ran out).
var ErrNotRegistered = errors.New("SIP device not registered")

// Device is one desk phone or softphone of an extension, as the server's
// Devices finds it: its SIP username and digest secret.
type Device struct {
	ID          int64
	ExtensionID int64
	Username    string
	// HA1 is the hex MD5 of username:realm:password (RFC 2617 3.2.2.2,
	// RFC 7616 3.4.2): what digest checks need, password-equivalent for
	// that realm. The registrar never hands it out: the Device in a
	// Binding or given to a DeviceHandler has none.
	HA1   string
	Realm string
}

// Devices looks up the SIP credentials of phones; the server implements
// it over its store. ok is false when there is no such device; err is for
// a lookup that failed (the request is then answered 500).
type Devices interface {
	LookupDevice(ctx context.Context, username string) (d Device, ok bool, err error)
}

// DeviceHandler receives the calls registered phones place.
type DeviceHandler interface {
	// DeviceCall is called once per new call from a phone, before any
	// response but 100 Trying; o.To is the number or extension dialled
	// (the Request-URI's user), o.Trunk is empty. It returns quickly with
	// the events the call reports to, and answers later through c: Ring,
	// Answer or Reject.
	DeviceCall(c *Call, dev Device, o Offer) Events
}

// Binding is one registered contact of a phone (RFC 3261 10.3): where
// calls to it go.
type Binding struct {
	// Device is the phone, without its HA1.
	Device Device
	// Contact is the phone's Contact URI, the Request-URI of calls to it.
	Contact string
	// Source is the address the REGISTER came from and Transport its
	// transport: requests to the phone are sent there, whatever address
	// the Contact names, so a phone behind NAT is reached through the
	// mapping its registration opened (RFC 3581's received and rport).
	Source    netip.AddrPort
	Transport Transport
	// Expires is when the binding runs out unless the phone refreshes it.
	Expires time.Time
	// UserAgent is the phone's User-Agent header, for logs and lists.
	UserAgent string
}

var deviceUsername = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,31}$`)

// MinDevicePassword is the shortest password a phone is given: a captured
// digest answer can be tried against guesses offline, so it must not be
// guessable.
const MinDevicePassword = 12

// ValidDeviceUsername reports whether s can be a phone's SIP username:
// 1-32 lower-case letters, digits, '.', '_' or '-', starting with a letter
// or digit ("101-desk").
func ValidDeviceUsername(s string) bool { return deviceUsername.MatchString(s) }

// ValidRealm reports whether s can be a digest realm: 1-64 printable
// ASCII characters without quotes or backslashes, as the quoted string of
// a challenge carries it.
func ValidRealm(s string) bool {
	if s == "" || len(s) > 64 || strings.TrimSpace(s) != s {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// HA1 is the digest secret a device's password gives in realm: the hex
// MD5 of username:realm:password (RFC 2617 3.2.2.2). Keep it in place of
// the password; it lets whoever holds it register as the device in that
// realm, and in no other.
func HA1(username, realm, password string) string {
	return md5Hex(username + ":" + realm + ":" + password)
}

// ValidHA1 reports whether s is an HA1 as HA1 writes it: 32 lower-case
// hex digits.
func ValidHA1(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Device returns the phone of a call to or from a registered device; ok
// is false for a trunk call.
func (c *Call) Device() (Device, bool) {
	if c.device == nil {
		return Device{}, false
	}
	return *c.device, true
}
