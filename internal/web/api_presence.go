package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/telephony"
)

// Presence keeps extensions' presence (internal/presence implements it).
type Presence interface {
	// Presence returns the extension's whole presence and current sequence.
	Presence(ctx context.Context, extension int64) (presence.Presence, uint64, error)
	// User returns what the extension's user set, or the default.
	User(ctx context.Context, extension int64) (presence.UserPresence, error)
	// Set stores and applies what the user set, and publishes the change.
	Set(ctx context.Context, extension int64, p presence.UserPresence) error
}

// currentPresence is the extension's presence as it is now, with its
// sequence; without a presence keeper, the defaults.
func (s *Server) currentPresence(ctx context.Context, ext int64) (presence.Presence, uint64, error) {
	if s.Presence == nil {
		return presence.Of(telephony.NoCall, presence.DefaultUserPresence), 0, nil
	}
	return s.Presence.Presence(ctx, ext)
}

// widgetPresence is the presence of the widget's session state.
func (s *Server) widgetPresence(ctx context.Context, ext int64) (*presenceState, error) {
	p, _, err := s.currentPresence(ctx, ext)
	if err != nil {
		return nil, err
	}
	return &presenceState{TelephonyStatus: string(p.TelephonyStatus), UserStatus: p.UserStatus, DNDStatus: p.DNDStatus, PresenceStatus: p.PresenceStatus}, nil
}

// apiPresenceBody is the presence resource (seeds/001 "Call States").
type apiPresenceBody struct {
	URI             string                 `json:"uri"`
	Extension       apiPresenceExt         `json:"extension"`
	Sequence        uint64                 `json:"sequence"`
	TelephonyStatus string                 `json:"telephonyStatus"`
	UserStatus      string                 `json:"userStatus"`
	DNDStatus       string                 `json:"dndStatus"`
	PresenceStatus  string                 `json:"presenceStatus"`
	ActiveCalls     *[]bridge.PresenceCall `json:"activeCalls,omitempty"`
}

type apiPresenceExt struct {
	ID              int64  `json:"id"`
	URI             string `json:"uri"`
	ExtensionNumber string `json:"extensionNumber"`
}

// liveCall is an extension's party in one of its active sessions.
type liveCall struct {
	session telephony.Session
	party   telephony.Party
}

// liveCalls returns the extension's live calls, oldest first.
func (s *Server) liveCalls(ext int64) []liveCall {
	var out []liveCall
	if s.Switch == nil {
		return out
	}
	for _, sess := range s.Switch.Sessions(ext) {
		for _, p := range sess.Parties {
			if p.Owner == ext && p.Status != telephony.StatusDisconnected {
				out = append(out, liveCall{sess, p})
			}
		}
	}
	return out
}

// presenceBody builds the presence resource of an extension.
func (s *Server) presenceBody(ctx context.Context, acct identity.Account, ext identity.Extension, detailed bool) (apiPresenceBody, error) {
	sp, seq, err := s.currentPresence(ctx, ext.ID)
	if err != nil {
		return apiPresenceBody{}, err
	}
	uri := s.extensionURI(acct.ID, ext.ID)
	body := apiPresenceBody{
		URI:       uri + "/presence",
		Extension: apiPresenceExt{ID: ext.ID, URI: uri, ExtensionNumber: ext.Number},
		Sequence:  seq, TelephonyStatus: string(sp.TelephonyStatus), UserStatus: sp.UserStatus,
		DNDStatus: sp.DNDStatus, PresenceStatus: sp.PresenceStatus,
	}
	if detailed {
		calls := []bridge.PresenceCall{}
		if s.Switch != nil {
			calls = bridge.PresenceCalls(s.Switch.Sessions(ext.ID), ext.ID)
		}
		body.ActiveCalls = &calls
	}
	return body, nil
}

// apiPresence answers GET …/extension/{extensionId}/presence.
func (s *Server) apiPresence(c echo.Context) error {
	acct, ext, err := s.apiTarget(c)
	if err != nil {
		return err
	}
	detailed := false
	if v, ok := first(c.QueryParams(), "detailedTelephonyState"); ok {
		switch strings.ToLower(v) {
		case "true":
			detailed = true
		case "false":
		default:
			return invalidParam("detailedTelephonyState", "true or false")
		}
	}
	body, err := s.presenceBody(c.Request().Context(), acct, ext, detailed)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, body)
}

// presenceUpdate is the body of PUT …/presence; what is left out stays.
type presenceUpdate struct {
	UserStatus *string `json:"userStatus"`
	DNDStatus  *string `json:"dndStatus"`
}

// apiSetPresence answers PUT …/extension/{extensionId}/presence: the user
// status and do-not-disturb are stored, DND applies to the switch at once,
// and the extension's widgets are told (rc-adapter-syncPresence).
func (s *Server) apiSetPresence(c echo.Context) error {
	acct, ext, err := s.apiTarget(c)
	if err != nil {
		return err
	}
	if err := s.updateUserPresence(c, ext.ID); err != nil {
		return err
	}
	ctx := c.Request().Context()
	body, err := s.presenceBody(ctx, acct, ext, false)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, body)
}

// enumValue checks a body field against its allowed values (compared
// without case) and returns it canonical.
func enumValue(name, v string, allowed []string) (string, error) {
	vs, err := enumParams(url.Values{name: {v}}, name, allowed)
	if err != nil {
		return "", err
	}
	return vs[0], nil
}

// bindAPIJSON decodes a platform API request body strictly. A field that is
// unknown or of the wrong type is named in the 400.
func bindAPIJSON(c echo.Context, v any) error {
	r := c.Request()
	if ct := r.Header.Get(echo.HeaderContentType); ct != "" && !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "UnsupportedMediaType", Message: "send application/json"}
	}
	dec := jsonDecoder(r.Body)
	err := dec.Decode(v)
	if err == nil {
		if dec.More() {
			return &Error{Status: http.StatusBadRequest, Code: "InvalidJSON", Message: "the body holds more than one JSON value"}
		}
		return nil
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "RequestTooLarge", Message: "request body too large"}
	}
	if errors.Is(err, io.EOF) {
		return &Error{Status: http.StatusBadRequest, Code: "InvalidJSON", Message: "send a JSON object in the body"}
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return invalidParam(typeErr.Field, fmt.Sprintf("must be a %s", typeErr.Type))
	}
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name := strings.Trim(field, `"`)
		return &Error{Status: http.StatusBadRequest, Code: "InvalidParameter", Param: name,
			Message: "Parameter [" + name + "] is not known here"}
	}
	return &Error{Status: http.StatusBadRequest, Code: "InvalidJSON", Message: "the body is not valid JSON for this request: " + err.Error()}
}
