package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Frame types of the socket protocol (docs/api-subscriptions.md,
// "WebSocket"). Every frame is a JSON array: a header object, then, for
// most, a body.
const (
	frameConnectionDetails  = "ConnectionDetails"
	frameClientRequest      = "ClientRequest" // a REST call over the socket, and its answer (the platform's SDK expects this type back)
	frameServerNotification = "ServerNotification"
	frameHeartbeat          = "Heartbeat"
	frameError              = "Error"
)

// Bounds of what a client frame's header may hold.
const (
	maxMessageID   = 128
	maxRequestPath = 1024
	maxQueryParams = 32
)

// frameHeader is the first element of every frame, both ways.
type frameHeader struct {
	Type      string            `json:"type"`
	MessageID string            `json:"messageId"`
	Status    int               `json:"status,omitempty"`
	Method    string            `json:"method,omitempty"`
	Path      string            `json:"path,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
	WSC       *wscInfo          `json:"wsc,omitempty"`
}

// wscInfo names the session a frame belongs to: the token a client
// reconnects with to recover it, and the frame's place in the session.
type wscInfo struct {
	Token    string `json:"token"`
	Sequence uint64 `json:"sequence"`
}

// clientFrame is a frame a client sent, checked.
type clientFrame struct {
	Type      string
	MessageID string
	// Of a ClientRequest:
	Method string
	Path   string      // without query
	Query  [][2]string // name, value; in the order given
	Body   json.RawMessage
}

// frameRefusal is a client frame the server refuses: the Error frame's
// errorCode and message.
type frameRefusal struct {
	Code      string
	Message   string
	MessageID string // the frame's, when it could be read
}

func (e *frameRefusal) Error() string { return e.Code + ": " + e.Message }

func badFrame(id, format string, args ...any) *frameRefusal {
	return &frameRefusal{Code: "InvalidFrame", Message: fmt.Sprintf(format, args...), MessageID: id}
}

// parseClientFrame reads a frame from a client: [header] or [header, body],
// where header has a type and a messageId, and a ClientRequest's also a
// method, a path under /restapi and an optional query of names to strings,
// numbers, booleans or lists of them.
func parseClientFrame(data []byte) (clientFrame, error) {
	var parts []json.RawMessage
	if err := json.Unmarshal(data, &parts); err != nil {
		return clientFrame{}, badFrame("", "a frame is a JSON array: [header] or [header, body]")
	}
	if len(parts) < 1 || len(parts) > 2 {
		return clientFrame{}, badFrame("", "a frame is [header] or [header, body]")
	}
	var h struct {
		Type      string                     `json:"type"`
		MessageID string                     `json:"messageId"`
		Method    string                     `json:"method"`
		Path      string                     `json:"path"`
		Query     map[string]json.RawMessage `json:"query"`
	}
	if b := bytes.TrimSpace(parts[0]); len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &h) != nil {
		return clientFrame{}, badFrame("", "the header is an object with type and messageId")
	}
	if len(h.MessageID) > maxMessageID {
		return clientFrame{}, badFrame("", "messageId is at most %d characters", maxMessageID)
	}
	f := clientFrame{Type: h.Type, MessageID: h.MessageID}
	if f.MessageID == "" {
		return f, badFrame("", "the header needs a messageId")
	}
	switch h.Type {
	case frameHeartbeat:
		return f, nil
	case frameClientRequest:
	case "":
		return f, badFrame(f.MessageID, "the header needs a type")
	default:
		return f, &frameRefusal{Code: "UnknownFrameType", MessageID: f.MessageID,
			Message: "a client sends ClientRequest or Heartbeat frames, not " + strconv.Quote(truncate(h.Type, 32))}
	}
	switch f.Method = strings.ToUpper(h.Method); f.Method {
	case "GET", "POST", "PUT", "DELETE":
	default:
		return f, badFrame(f.MessageID, "method is GET, POST, PUT or DELETE")
	}
	if len(h.Path) > maxRequestPath || !strings.HasPrefix(h.Path, "/restapi/") || strings.ContainsAny(h.Path, "?#\\ \t\r\n") ||
		strings.Contains(h.Path, "/../") || strings.HasSuffix(h.Path, "/..") || strings.Contains(h.Path, "//") || strings.Contains(h.Path, "%") {
		return f, badFrame(f.MessageID, "path is an API path, such as /restapi/v1.0/subscription, without query (that goes in query)")
	}
	f.Path = h.Path
	if len(h.Query) > maxQueryParams {
		return f, badFrame(f.MessageID, "at most %d query parameters", maxQueryParams)
	}
	for _, name := range slices.Sorted(maps.Keys(h.Query)) {
		values, ok := queryValues(h.Query[name])
		if !ok || name == "" {
			return f, badFrame(f.MessageID, "query maps names to strings, numbers, booleans or lists of them")
		}
		for _, v := range values {
			f.Query = append(f.Query, [2]string{name, v})
		}
	}
	if len(parts) == 2 {
		if b := bytes.TrimSpace(parts[1]); !bytes.Equal(b, []byte("null")) {
			f.Body = b
		}
	}
	return f, nil
}

// queryValues reads one query parameter's value.
func queryValues(raw json.RawMessage) ([]string, bool) {
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		if len(list) > maxQueryParams {
			return nil, false
		}
		var out []string
		for _, item := range list {
			v, ok := queryScalar(item)
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
		return out, true
	}
	v, ok := queryScalar(raw)
	if !ok {
		return nil, false
	}
	return []string{v}, true
}

func queryScalar(raw json.RawMessage) (string, bool) {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return "", false
	}
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case float64:
		return strings.TrimSpace(string(raw)), true
	}
	return "", false
}

// serverFrame is a frame for a client; the writer stamps its wsc.
type serverFrame struct {
	header frameHeader
	body   any // marshalled as the second element; nil: none
	// ping, instead of a frame: a WebSocket ping, whose pong tells that the
	// client read every frame before it.
	ping bool
}

// encode is the frame as sent.
func (f serverFrame) encode() ([]byte, error) {
	parts := []any{f.header}
	if f.body != nil {
		parts = append(parts, f.body)
	}
	return json.Marshal(parts)
}

// errorFrame is the Error frame that answers a refused client frame.
func errorFrame(err error) serverFrame {
	var fe *frameRefusal
	if !errors.As(err, &fe) {
		fe = &frameRefusal{Code: "InvalidFrame", Message: "the frame could not be read"}
	}
	return serverFrame{header: frameHeader{Type: frameError, MessageID: fe.MessageID, Status: 400},
		body: map[string]string{"errorCode": fe.Code, "message": fe.Message}}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
