package webhooks

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseFilter(t *testing.T) {
	owner := Owner{AccountID: 7, ExtensionID: 42}
	good := []struct {
		raw  string
		want Filter
	}{
		{"/restapi/v1.0/account/~/extension/~/presence", Filter{7, 42, KindPresence, false}},
		{"/account/~/extension/~/presence?detailedTelephonyState=true", Filter{7, 42, KindPresence, true}},
		{"/restapi/v1.0/account/7/extension/43/presence?detailedTelephonyState=FALSE", Filter{7, 43, KindPresence, false}},
		{"/restapi/v1.0/account/~/extension/~/telephony/sessions", Filter{7, 42, KindTelephonySessions, false}},
		{"/account/8/extension/9/message-store", Filter{8, 9, KindMessageStore, false}},
	}
	for _, tt := range good {
		t.Run(tt.raw, func(t *testing.T) {
			f, err := ParseFilter(tt.raw, owner)
			if err != nil || f != tt.want {
				t.Fatalf("ParseFilter = %+v, %v; want %+v", f, err, tt.want)
			}
			again, err := ParseFilter(f.String(), Owner{})
			if err != nil || again != f {
				t.Fatalf("%q parses back to %+v, %v", f.String(), again, err)
			}
		})
	}
	bad := []string{
		"", "presence", "/restapi/v1.0/account/~/extension/~", "/restapi/v1.0/account/~/extension/~/call-log",
		"/restapi/v1.0/account/~/extension/~/presence/extra", "/restapi/v1.0/account/x/extension/~/presence",
		"/restapi/v1.0/account/~/extension/-1/presence", "/restapi/v1.0/account/~/extension/0/presence",
		"/restapi/v1.0/account/~/extension/007/presence", "/restapi/v1.0/account/~/extension/99999999999999999999/presence",
		"/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=yes",
		"/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true&aggregated=true",
		"/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true&detailedTelephonyState=false",
		"/restapi/v1.0/account/~/extension/~/message-store?messageType=SMS",
		"/restapi/v1.0/account/~/extension/~/presence?%zz", "restapi/v1.0/account/~/extension/~/presence",
		"/restapi/v2.0/account/~/extension/~/presence", "/restapi/v1.0/account/~/extension/~/presence" + strings.Repeat("x", 300),
	}
	for _, raw := range bad {
		if f, err := ParseFilter(raw, owner); err == nil {
			t.Errorf("ParseFilter(%q) = %+v, want an error", raw, f)
		}
	}
}

func TestSignVerify(t *testing.T) {
	body := []byte(`{"uuid":"u","body":{}}`)
	now := time.Unix(1767950000, 0)
	h := http.Header{}
	h.Set(HeaderTimestamp, "1767950000")
	h.Set(HeaderSignature, Sign("secret", now.Unix(), body))
	if err := Verify("secret", h, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("a good signature: %v", err)
	}
	tampered := append([]byte(nil), body...)
	tampered[3] = 'x'
	stale := now.Add(6 * time.Minute)
	for name, err := range map[string]error{
		"another secret": Verify("other", h, body, now, 5*time.Minute),
		"another body":   Verify("secret", h, tampered, now, 5*time.Minute),
		"too old":        Verify("secret", h, body, stale, 5*time.Minute),
		"no timestamp":   Verify("secret", http.Header{HeaderSignature: h[HeaderSignature]}, body, now, 5*time.Minute),
	} {
		if err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	h.Set(HeaderTimestamp, "1767950001")
	if err := Verify("secret", h, body, now, 5*time.Minute); err == nil {
		t.Error("a changed timestamp verified")
	}
}
