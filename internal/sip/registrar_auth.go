package sip

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/icholy/digest"
)

// Digest authentication of phones (RFC 3261 22.4 with RFC 2617's qop=auth
// and MD5, the algorithm every phone speaks; RFC 7616 3.4). The registrar
// keeps no state per challenge: a nonce carries its time and an HMAC of
// it and of the address it was given to, under a key made at start, so a
// nonce proves itself for nonceLifetime and only from that address. Nonce
// counts are not tracked: within that lifetime a captured answer could be
// replayed from the same address, and nothing else.

const (
	// nonceLifetime is how long a nonce is accepted; an answer with an
	// older one is challenged again with stale=true (RFC 2617 3.2.1).
	nonceLifetime = 5 * time.Minute
	nonceMACSize  = 16
)

// nonces makes and checks the registrar's nonces.
type nonces struct {
	key   []byte
	realm string
}

// make returns a nonce for a challenge to ip at now.
func (n nonces) make(ip netip.Addr, now time.Time) string {
	var b [8 + nonceMACSize]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.Unix()))
	copy(b[8:], n.mac(b[:8], ip))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (n nonces) mac(ts []byte, ip netip.Addr) []byte {
	m := hmac.New(sha256.New, n.key)
	m.Write(ts)
	m.Write([]byte(n.realm))
	ipb, _ := ip.Unmap().MarshalBinary()
	m.Write(ipb)
	return m.Sum(nil)[:nonceMACSize]
}

// check reports whether nonce is one we gave ip (ok) and whether it is
// too old to use (stale).
func (n nonces) check(nonce string, ip netip.Addr, now time.Time) (ok, stale bool) {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != 8+nonceMACSize {
		return false, false
	}
	if !hmac.Equal(b[8:], n.mac(b[:8], ip)) {
		return false, false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0)
	if issued.After(now.Add(time.Minute)) {
		return false, false // from a clock ahead of ours: not one we made
	}
	return true, now.Sub(issued) > nonceLifetime
}

// challenge is the value of a WWW-Authenticate or Proxy-Authenticate
// header with a fresh nonce for ip.
func (n nonces) challenge(ip netip.Addr, now time.Time, stale bool) string {
	v := fmt.Sprintf(`Digest realm="%s", nonce="%s", qop="auth", algorithm=MD5`, n.realm, n.make(ip, now))
	if stale {
		v += ", stale=true"
	}
	return v
}

// authResult is the outcome of checking an Authorization header.
type authResult int

const (
	authNone   authResult = iota // no credentials for our realm: challenge
	authOK                       // the device proved its secret
	authStale                    // right secret, old nonce: challenge with stale=true
	authFailed                   // wrong secret, unknown user, nonce not ours: refuse
)

// parseCredentials reads the digest answer of an Authorization or
// Proxy-Authorization header value for realm; nil when it is not one.
func parseCredentials(v, realm string) *digest.Credentials {
	c, err := digest.ParseCredentials(v)
	if err != nil || c.Realm != realm {
		return nil
	}
	return c
}

// verifyDigest checks the answer c of a request with method against ha1
// (RFC 2617 3.2.2.1): with qop=auth, MD5(HA1:nonce:nc:cnonce:auth:HA2),
// without qop RFC 2069's MD5(HA1:nonce:HA2), where HA2 is MD5(method:uri).
// The comparison takes the same time whatever differs.
func verifyDigest(c *digest.Credentials, method, ha1 string) bool {
	if c == nil || c.Userhash || c.URI == "" || c.Nonce == "" || !ValidHA1(ha1) {
		return false
	}
	if a := strings.ToUpper(c.Algorithm); a != "" && a != "MD5" {
		return false
	}
	ha2 := md5Hex(method + ":" + c.URI)
	var want string
	switch strings.ToLower(c.QOP) {
	case "auth":
		if c.Cnonce == "" || c.Nc <= 0 {
			return false
		}
		want = md5Hex(fmt.Sprintf("%s:%s:%08x:%s:auth:%s", ha1, c.Nonce, c.Nc, c.Cnonce, ha2))
	case "":
		want = md5Hex(ha1 + ":" + c.Nonce + ":" + ha2)
	default:
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(c.Response)), []byte(want)) == 1
}

// authLimiter refuses addresses that failed digest checks too often: a
// token bucket per source IP, one token per failure, refilled at one per
// refill up to burst. An address with no token left gets 403 without a
// challenge until one refills.
type authLimiter struct {
	burst  float64
	refill time.Duration

	mu      sync.Mutex
	buckets map[netip.Addr]*authBucket
}

type authBucket struct {
	tokens float64
	at     time.Time
}

const (
	defaultAuthBurst  = 10
	defaultAuthRefill = 30 * time.Second
	// maxAuthBuckets bounds the addresses remembered; past it, those
	// whose bucket refilled are forgotten, then others at random.
	maxAuthBuckets = 4096
)

func newAuthLimiter(burst int, refill time.Duration) *authLimiter {
	return &authLimiter{burst: float64(burst), refill: refill, buckets: map[netip.Addr]*authBucket{}}
}

// level refills b to now and returns its tokens.
func (l *authLimiter) level(b *authBucket, now time.Time) float64 {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(l.burst, b.tokens+float64(d)/float64(l.refill))
		b.at = now
	}
	return b.tokens
}

// blocked reports whether ip has no token left.
func (l *authLimiter) blocked(ip netip.Addr, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[ip.Unmap()]
	return b != nil && l.level(b, now) < 1
}

// fail takes a token of ip; it reports whether ip is now blocked.
func (l *authLimiter) fail(ip netip.Addr, now time.Time) bool {
	ip = ip.Unmap()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[ip]
	if b == nil {
		if len(l.buckets) >= maxAuthBuckets {
			for k, o := range l.buckets {
				if l.level(o, now) >= l.burst {
					delete(l.buckets, k)
				}
			}
			for k := range l.buckets {
				if len(l.buckets) < maxAuthBuckets {
					break
				}
				delete(l.buckets, k) // still full: forget some at random
			}
		}
		b = &authBucket{tokens: l.burst, at: now}
		l.buckets[ip] = b
	}
	l.level(b, now)
	b.tokens = max(0, b.tokens-1)
	return b.tokens < 1
}
