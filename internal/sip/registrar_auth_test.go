package sip

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/icholy/digest"
)

func TestHA1(t *testing.T) {
	// RFC 2617 3.5's example user.
	if got := HA1("Mufasa", "testrealm@host.com", "Circle Of Life"); got != "939e7578ed9e3c518a452acee763bce9" {
		t.Errorf("HA1 = %s", got)
	}
	for s, want := range map[string]bool{
		"939e7578ed9e3c518a452acee763bce9":  true,
		"939E7578ED9E3C518A452ACEE763BCE9":  false,
		"939e7578ed9e3c518a452acee763bce":   false,
		"939e7578ed9e3c518a452acee763bce9a": false,
		"z39e7578ed9e3c518a452acee763bce9":  false,
	} {
		if ValidHA1(s) != want {
			t.Errorf("ValidHA1(%q) = %v", s, !want)
		}
	}
}

func TestDeviceUsernameAndRealm(t *testing.T) {
	for s, want := range map[string]bool{
		"101-desk": true, "alice.soft_1": true, "9": true, strings.Repeat("a", 32): true,
		"": false, "-101": false, "101-Desk": false, "101 desk": false, "101@desk": false, strings.Repeat("a", 33): false,
	} {
		if ValidDeviceUsername(s) != want {
			t.Errorf("ValidDeviceUsername(%q) = %v", s, !want)
		}
	}
	for s, want := range map[string]bool{
		"callbridge": true, "pbx.example.com": true, "Acme PBX": true,
		"": false, ` x`: false, `a"b`: false, `a\b`: false, "a\nb": false, strings.Repeat("r", 65): false,
	} {
		if ValidRealm(s) != want {
			t.Errorf("ValidRealm(%q) = %v", s, !want)
		}
	}
}

func TestVerifyDigest(t *testing.T) {
	ha1 := HA1("Mufasa", "testrealm@host.com", "Circle Of Life")
	// RFC 2617 3.5: qop=auth.
	rfc := &digest.Credentials{Username: "Mufasa", Realm: "testrealm@host.com", Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
		URI: "/dir/index.html", QOP: "auth", Nc: 1, Cnonce: "0a4f113b", Response: "6629fae49393a05397450978507c4ef1"}
	if !verifyDigest(rfc, "GET", ha1) {
		t.Error("RFC 2617's example answer refused")
	}
	upper := *rfc
	upper.Response = strings.ToUpper(rfc.Response)
	if !verifyDigest(&upper, "GET", ha1) {
		t.Error("an answer in upper-case hex refused")
	}

	// Answers as a client computes them (the library the trunks use).
	answer := func(qop, algorithm, password, method string) *digest.Credentials {
		chal := &digest.Challenge{Realm: "callbridge", Nonce: "n0nce", Algorithm: algorithm}
		if qop != "" {
			chal.QOP = []string{qop}
		}
		c, err := digest.Digest(chal, digest.Options{Method: method, URI: "sip:127.0.0.1:5060", Username: "101-desk", Password: password})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	dev := HA1("101-desk", "callbridge", "right horse battery")
	for _, tc := range []struct {
		name string
		c    *digest.Credentials
		ok   bool
	}{
		{"qop auth", answer("auth", "MD5", "right horse battery", "REGISTER"), true},
		{"no qop (RFC 2069)", answer("", "", "right horse battery", "REGISTER"), true},
		{"wrong password", answer("auth", "MD5", "wrong horse battery", "REGISTER"), false},
		{"another method", answer("auth", "MD5", "right horse battery", "INVITE"), false},
		{"SHA-256", answer("auth", "SHA-256", "right horse battery", "REGISTER"), false},
		{"auth-int", answer("auth-int", "MD5", "right horse battery", "REGISTER"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := verifyDigest(tc.c, "REGISTER", dev); got != tc.ok {
				t.Errorf("verifyDigest = %v, want %v", got, tc.ok)
			}
		})
	}
	noCnonce := answer("auth", "MD5", "right horse battery", "REGISTER")
	noCnonce.Cnonce = ""
	if verifyDigest(noCnonce, "REGISTER", dev) || verifyDigest(nil, "REGISTER", dev) ||
		verifyDigest(answer("auth", "MD5", "", "REGISTER"), "REGISTER", "not an HA1") {
		t.Error("an incomplete answer or a bad HA1 passed")
	}
}

func TestNonce(t *testing.T) {
	n := nonces{key: []byte("0123456789abcdef0123456789abcdef"), realm: "callbridge"}
	ip := netip.MustParseAddr("192.0.2.10")
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	nonce := n.make(ip, now)
	check := func(name, nonce string, ip netip.Addr, at time.Time, wantOK, wantStale bool) {
		t.Helper()
		if ok, stale := n.check(nonce, ip, at); ok != wantOK || stale != wantStale {
			t.Errorf("%s: ok %v stale %v, want %v %v", name, ok, stale, wantOK, wantStale)
		}
	}
	check("fresh", nonce, ip, now.Add(time.Minute), true, false)
	check("mapped address", nonce, netip.AddrFrom16(ip.As16()), now, true, false)
	check("old", nonce, ip, now.Add(nonceLifetime+time.Second), true, true)
	check("another address", nonce, netip.MustParseAddr("192.0.2.11"), now, false, false)
	check("from the future", n.make(ip, now.Add(2*time.Minute)), ip, now, false, false)
	other := nonces{key: []byte("another key of thirty-two bytes!"), realm: "callbridge"}
	check("another key", other.make(ip, now), ip, now, false, false)
	otherRealm := nonces{key: n.key, realm: "elsewhere"}
	check("another realm", otherRealm.make(ip, now), ip, now, false, false)
	b := []byte(nonce)
	b[3] ^= 1
	check("tampered", string(b), ip, now, false, false)
	check("garbage", "not-a-nonce", ip, now, false, false)

	ch := n.challenge(ip, now, true)
	parsed, err := digest.ParseChallenge(ch)
	if err != nil {
		t.Fatalf("challenge %q: %v", ch, err)
	}
	if parsed.Realm != "callbridge" || !parsed.SupportsQOP("auth") || parsed.Algorithm != "MD5" || !parsed.Stale {
		t.Errorf("challenge %q parsed as %+v", ch, parsed)
	}
	if ok, _ := n.check(parsed.Nonce, ip, now); !ok {
		t.Error("the challenge's nonce does not check")
	}
}

func TestAuthLimiter(t *testing.T) {
	l := newAuthLimiter(3, 10*time.Second)
	bad, good := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2")
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		if l.blocked(bad, now) {
			t.Fatalf("blocked after %d failures", i)
		}
		if blocked := l.fail(bad, now); blocked != (i == 2) {
			t.Fatalf("failure %d: blocked %v", i+1, blocked)
		}
	}
	if !l.blocked(bad, now) || !l.blocked(netip.AddrFrom16(bad.As16()), now) {
		t.Fatal("not blocked after the burst")
	}
	if l.blocked(good, now) {
		t.Fatal("another address blocked")
	}
	if l.blocked(bad, now.Add(9*time.Second)) == false {
		t.Fatal("unblocked before a token refilled")
	}
	if l.blocked(bad, now.Add(10*time.Second)) {
		t.Fatal("still blocked once a token refilled")
	}
	if !l.fail(bad, now.Add(10*time.Second)) {
		t.Fatal("one failure after the refill did not block again")
	}
}
