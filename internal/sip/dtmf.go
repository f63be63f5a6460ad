package sip

import (
	"strconv"
	"strings"
	"time"
)

// DTMF is one key a peer sent in a SIP INFO.
type DTMF struct {
	Digit    rune          // 0-9, *, #, A-D, or 'F' for flash
	Duration time.Duration // 0 when not given
}

const maxInfoBody = 1024

// parseDTMFInfo reads the body of an INFO carrying a key: the widely used
// application/dtmf-relay ("Signal=5\r\nDuration=160") and application/dtmf
// ("5", or an event number 0-16 as in RFC 4733). ok is false when the body
// names no key.
func parseDTMFInfo(contentType string, body []byte) (DTMF, bool) {
	if len(body) > maxInfoBody {
		return DTMF{}, false
	}
	ct := strings.ToLower(strings.TrimSpace(contentType))
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = strings.TrimSpace(ct[:i])
	}
	switch ct {
	case "application/dtmf-relay":
		var d DTMF
		var have bool
		for _, line := range strings.Split(string(body), "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			if !ok {
				continue
			}
			v = strings.TrimSpace(v)
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "signal":
				d.Digit, have = dtmfDigit(v)
			case "duration":
				if ms, err := strconv.Atoi(v); err == nil && ms > 0 && ms < 60000 {
					d.Duration = time.Duration(ms) * time.Millisecond
				}
			}
		}
		if !have {
			return DTMF{}, false
		}
		return d, true
	case "application/dtmf":
		r, ok := dtmfDigit(strings.TrimSpace(string(body)))
		return DTMF{Digit: r}, ok
	}
	return DTMF{}, false
}

// dtmfDigit reads a key as a character or an RFC 4733 event number.
func dtmfDigit(v string) (rune, bool) {
	if n, err := strconv.Atoi(v); err == nil && len(v) <= 2 {
		const events = "0123456789*#ABCDF"
		if n >= 0 && n < len(events) {
			return rune(events[n]), true
		}
		return 0, false
	}
	if len(v) != 1 {
		return 0, false
	}
	r := rune(strings.ToUpper(v)[0])
	if strings.ContainsRune("0123456789*#ABCD", r) {
		return r, true
	}
	if r == '!' {
		return 'F', true
	}
	return 0, false
}
