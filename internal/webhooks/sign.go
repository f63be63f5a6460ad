package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of a notification (docs/api-subscriptions.md "Verifying a
// notification").
const (
	// HeaderSignature is "sha256=" and the hex HMAC-SHA256, keyed with the
	// subscription's secret, of the timestamp header's value, ".", and the body.
	HeaderSignature = "X-Callbridge-Signature"
	// HeaderTimestamp is when the attempt was signed, in Unix seconds.
	HeaderTimestamp = "X-Callbridge-Timestamp"
	// HeaderVerificationToken carries the subscription's verificationToken.
	HeaderVerificationToken = "Verification-Token"
	// HeaderValidationToken is the address check: the receiver answers the
	// check's POST with the same header and value.
	HeaderValidationToken = "Validation-Token"
)

// Sign returns the signature header's value for a body sent at timestamp.
func Sign(secret string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a notification as a receiver written in Go would: the
// signature must be the body's under secret, and its timestamp within
// tolerance of now, so that a captured notification cannot be replayed
// later.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(h.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		return errors.New("no valid " + HeaderTimestamp + " header")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("signed %s away from now", d.Round(time.Second))
	}
	want := Sign(secret, ts, body)
	if !hmac.Equal([]byte(strings.TrimSpace(h.Get(HeaderSignature))), []byte(want)) {
		return errors.New("signature mismatch")
	}
	return nil
}

// newSecret returns a new signing secret: 32 random bytes, hex.
func newSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newID returns a subscription id: 16 random bytes as a UUID (version 4).
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}
