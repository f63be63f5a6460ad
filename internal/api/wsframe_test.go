package api

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseClientFrame(t *testing.T) {
	for _, tc := range []struct {
		name, frame string
		code        string // "" for a frame that is taken
		check       func(t *testing.T, f clientFrame)
	}{
		{name: "heartbeat", frame: `[{"type": "Heartbeat", "messageId": "h1"}]`, check: func(t *testing.T, f clientFrame) {
			if f.Type != frameHeartbeat || f.MessageID != "h1" {
				t.Errorf("%+v", f)
			}
		}},
		{name: "request as the SDK sends it", frame: `[{"type": "ClientRequest", "messageId": "m1", "method": "post", "path": "/restapi/v1.0/subscription",
			"headers": {"X-User-Agent": "app/1 ringcentral-extensible/ws/0.16"}}, {"eventFilters": ["/restapi/v1.0/account/~/extension/~/presence"], "deliveryMode": {"transportType": "WebSocket"}}]`,
			check: func(t *testing.T, f clientFrame) {
				if f.Method != "POST" || f.Path != "/restapi/v1.0/subscription" || !strings.Contains(string(f.Body), "WebSocket") || f.Query != nil {
					t.Errorf("%+v", f)
				}
			}},
		{name: "query", frame: `[{"type": "ClientRequest", "messageId": "m", "method": "GET", "path": "/restapi/v1.0/subscription", "query": {"b": [1, true], "a": "x"}}, null]`,
			check: func(t *testing.T, f clientFrame) {
				want := [][2]string{{"a", "x"}, {"b", "1"}, {"b", "true"}}
				if len(f.Query) != 3 || f.Query[0] != want[0] || f.Query[1] != want[1] || f.Query[2] != want[2] || f.Body != nil {
					t.Errorf("%+v", f)
				}
			}},
		{name: "not JSON", frame: `nope`, code: "InvalidFrame"},
		{name: "object", frame: `{"type": "Heartbeat", "messageId": "h"}`, code: "InvalidFrame"},
		{name: "empty", frame: `[]`, code: "InvalidFrame"},
		{name: "three parts", frame: `[{"type": "Heartbeat", "messageId": "h"}, {}, {}]`, code: "InvalidFrame"},
		{name: "header not an object", frame: `["Heartbeat"]`, code: "InvalidFrame"},
		{name: "no messageId", frame: `[{"type": "Heartbeat"}]`, code: "InvalidFrame"},
		{name: "long messageId", frame: `[{"type": "Heartbeat", "messageId": "` + strings.Repeat("x", 200) + `"}]`, code: "InvalidFrame"},
		{name: "server type", frame: `[{"type": "ServerNotification", "messageId": "s"}]`, code: "UnknownFrameType"},
		{name: "method", frame: `[{"type": "ClientRequest", "messageId": "m", "method": "PATCH", "path": "/restapi/v1.0/subscription"}]`, code: "InvalidFrame"},
		{name: "absolute URL", frame: `[{"type": "ClientRequest", "messageId": "m", "method": "GET", "path": "https://elsewhere/restapi/"}]`, code: "InvalidFrame"},
		{name: "dot dot", frame: `[{"type": "ClientRequest", "messageId": "m", "method": "GET", "path": "/restapi/../widget/app"}]`, code: "InvalidFrame"},
		{name: "query in path", frame: `[{"type": "ClientRequest", "messageId": "m", "method": "GET", "path": "/restapi/v1.0/subscription?x=1"}]`, code: "InvalidFrame"},
		{name: "escaped", frame: `[{"type": "ClientRequest", "messageId": "m", "method": "GET", "path": "/restapi/v1.0/%2e%2e/x"}]`, code: "InvalidFrame"},
		{name: "nested query", frame: `[{"type": "ClientRequest", "messageId": "m", "method": "GET", "path": "/restapi/v1.0/subscription", "query": {"a": {"b": 1}}}]`, code: "InvalidFrame"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseClientFrame([]byte(tc.frame))
			var fr *frameRefusal
			switch {
			case tc.code == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.code == "":
				tc.check(t, f)
			case !errors.As(err, &fr) || fr.Code != tc.code:
				t.Fatalf("error %v, want %s", err, tc.code)
			}
		})
	}
}

// FuzzParseClientFrame: any frame a client sends is taken or refused with
// a code, never a panic; what is taken is a frame the dispatcher can route.
func FuzzParseClientFrame(f *testing.F) {
	for _, seed := range []string{
		`[{"type": "Heartbeat", "messageId": "h1"}]`,
		`[{"type": "ClientRequest", "messageId": "m1", "method": "POST", "path": "/restapi/v1.0/subscription"}, {"eventFilters": ["/restapi/v1.0/account/~/extension/~/presence"], "deliveryMode": {"transportType": "WebSocket"}}]`,
		`[{"type": "ClientRequest", "messageId": "m2", "method": "DELETE", "path": "/restapi/v1.0/subscription/abc", "query": {"a": [1, "b", false]}}]`,
		`[{"type": "ClientRequest", "messageId": "m3", "method": "GET", "path": "/restapi/../x"}]`,
		`[{}]`, `[null]`, `[[]]`, `{}`, `[`, `"x"`, `[{"type": 1}]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := parseClientFrame(data)
		if err != nil {
			var refusal *frameRefusal
			if !errors.As(err, &refusal) || refusal.Code == "" || refusal.Message == "" {
				t.Fatalf("error without a code: %v", err)
			}
			if _, err := errorFrame(err).encode(); err != nil {
				t.Fatalf("Error frame not encoded: %v", err)
			}
			return
		}
		if fr.MessageID == "" || len(fr.MessageID) > maxMessageID {
			t.Fatalf("taken with messageId %q", fr.MessageID)
		}
		switch fr.Type {
		case frameHeartbeat:
		case frameClientRequest:
			if !strings.HasPrefix(fr.Path, "/restapi/") || strings.Contains(fr.Path, "/../") {
				t.Fatalf("taken path %q", fr.Path)
			}
			if fr.Body != nil && !json.Valid(fr.Body) {
				t.Fatalf("body is not JSON: %q", fr.Body)
			}
		default:
			t.Fatalf("taken type %q", fr.Type)
		}
	})
}

func TestSocketTokens(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tokens := newSocketTokens(nil, func() time.Time { return now })
	tok := tokens.issue(7, 42, 10*time.Minute)
	if a, e, ok := tokens.check(tok); !ok || a != 7 || e != 42 {
		t.Fatalf("check(issued) = %d %d %v", a, e, ok)
	}
	other := newSocketTokens([]byte("another key, of another server....."), func() time.Time { return now })
	for name, bad := range map[string]string{
		"another key": other.issue(7, 42, time.Minute),
		"altered":     tok[:len(tok)-2] + "AA",
		"no prefix":   strings.TrimPrefix(tok, socketTokenPrefix),
		"empty":       "",
		"no mac":      strings.Split(tok, ".")[0] + "." + strings.Split(tok, ".")[1],
	} {
		if _, _, ok := tokens.check(bad); ok {
			t.Errorf("%s: taken", name)
		}
	}
	now = now.Add(10 * time.Minute)
	if _, _, ok := tokens.check(tok); ok {
		t.Fatal("expired token taken")
	}
}
