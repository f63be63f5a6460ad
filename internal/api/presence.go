package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/telephony"
)

// PresenceStore keeps what users set of their presence. The store implements it.
type PresenceStore interface {
	UserPresence(ctx context.Context, extensionID int64) (p store.UserPresence, ok bool, err error)
	SetUserPresence(ctx context.Context, extensionID int64, p store.UserPresence) error
	UserPresences(ctx context.Context) (map[int64]store.UserPresence, error)
}

// presenceSwitch is what presence needs of the switch besides Switch: the
// telephony status with its sequence, and the do-not-disturb status, which
// decides which calls ring (direct ones, a department's). The telephony
// switch has both; without them presence says NoCall and DND is not applied.
type presenceSwitch interface {
	Presence(extension int64) (telephony.Presence, uint64)
	SetDNDStatus(extension int64, dndStatus string)
}

// Values of the presence a user sets (docs/api.md "Presence").
var (
	userStatuses = []string{"Available", "Busy", "Offline"}
	dndStatuses  = []string{"TakeAllCalls", "DoNotAcceptAnyCalls", "DoNotAcceptDepartmentCalls", "TakeDepartmentCallsOnly"}
)

// defaultUserPresence is the presence of a user who never set one.
var defaultUserPresence = store.UserPresence{UserStatus: "Available", DNDStatus: "TakeAllCalls"}

// presenceCache holds the user presence of the extensions seen since start,
// so that call events, which the switch publishes synchronously, carry it
// without a database read each.
type presenceCache struct {
	mu sync.Mutex
	m  map[int64]store.UserPresence
}

func (p *presenceCache) get(ext int64) (store.UserPresence, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.m[ext]
	return v, ok
}

func (p *presenceCache) put(ext int64, v store.UserPresence) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[int64]store.UserPresence{}
	}
	p.m[ext] = v
}

// presenceLoadTimeout bounds the one read of an extension's stored presence.
const presenceLoadTimeout = 5 * time.Second

// loadUserPresence returns what the extension's user set, or the default.
func (s *Server) loadUserPresence(ctx context.Context, ext int64) (store.UserPresence, error) {
	if p, ok := s.userPresence.get(ext); ok {
		return p, nil
	}
	if s.Presences == nil {
		return defaultUserPresence, nil
	}
	ctx, cancel := context.WithTimeout(ctx, presenceLoadTimeout)
	defer cancel()
	p, ok, err := s.Presences.UserPresence(ctx, ext)
	if err != nil {
		return store.UserPresence{}, err
	}
	if !ok {
		p = defaultUserPresence
	}
	s.userPresence.put(ext, p)
	return p, nil
}

// ApplyStoredPresence puts into effect, at start, the presence users set
// before: do-not-disturb on the switch.
func (s *Server) ApplyStoredPresence(ctx context.Context) error {
	if s.Presences == nil {
		return nil
	}
	all, err := s.Presences.UserPresences(ctx)
	if err != nil {
		return err
	}
	sw, _ := s.Switch.(presenceSwitch)
	for ext, p := range all {
		s.userPresence.put(ext, p)
		if sw != nil && p.DNDStatus != "" && p.DNDStatus != telephony.TakeAllCalls {
			sw.SetDNDStatus(ext, p.DNDStatus)
		}
	}
	return nil
}

// telephonyPresence is the switch's view of the extension: its aggregated
// status and current sequence.
func (s *Server) telephonyPresence(ext int64) (telephony.TelephonyStatus, uint64) {
	sw, ok := s.Switch.(presenceSwitch)
	if !ok {
		return telephony.NoCall, 0
	}
	p, seq := sw.Presence(ext)
	return p.TelephonyStatus, seq
}

// syncPresence is rc-adapter-syncPresence for the extension as it is now.
func (s *Server) syncPresence(ctx context.Context, ext int64) (bridge.SyncPresence, error) {
	up, err := s.loadUserPresence(ctx, ext)
	if err != nil {
		return bridge.SyncPresence{}, err
	}
	status, _ := s.telephonyPresence(ext)
	return bridge.NewSyncPresence(string(status), up.UserStatus, up.DNDStatus), nil
}

// widgetPresence is the presence of the widget's session state.
func (s *Server) widgetPresence(ctx context.Context, ext int64) (*presence, error) {
	p, err := s.syncPresence(ctx, ext)
	if err != nil {
		return nil, err
	}
	return &presence{TelephonyStatus: p.TelephonyStatus, UserStatus: p.UserStatus, DNDStatus: p.DNDStatus, PresenceStatus: p.PresenceStatus}, nil
}

// withUserPresence completes the rc-adapter-syncPresence of a call event,
// which knows only the telephony status, with what the user set.
func (s *Server) withUserPresence(ext int64, env bridge.Envelope) bridge.Envelope {
	p, ok := env.Message.(bridge.SyncPresence)
	if !ok {
		return env
	}
	up, err := s.loadUserPresence(context.Background(), ext)
	if err != nil {
		s.log.Warn("presence not loaded", slog.Int64("extension", ext), slog.Any("err", err))
		up = defaultUserPresence
	}
	env.Message = bridge.NewSyncPresence(p.TelephonyStatus, up.UserStatus, up.DNDStatus)
	return env
}

// apiPresenceBody is the presence resource (seeds/001 "Call States").
type apiPresenceBody struct {
	URI             string           `json:"uri"`
	Extension       apiPresenceExt   `json:"extension"`
	Sequence        uint64           `json:"sequence"`
	TelephonyStatus string           `json:"telephonyStatus"`
	UserStatus      string           `json:"userStatus"`
	DNDStatus       string           `json:"dndStatus"`
	PresenceStatus  string           `json:"presenceStatus"`
	ActiveCalls     *[]apiActiveCall `json:"activeCalls,omitempty"`
}

type apiPresenceExt struct {
	ID              int64  `json:"id"`
	URI             string `json:"uri"`
	ExtensionNumber string `json:"extensionNumber"`
}

// apiActiveCall is a call in the presence's activeCalls, as in the presence
// events of seeds/001: from and to are numbers (E.164, or the extension
// number when there is none).
type apiActiveCall struct {
	ID                 string `json:"id"`
	Direction          string `json:"direction"`
	From               string `json:"from"`
	FromName           string `json:"fromName,omitempty"`
	To                 string `json:"to"`
	ToName             string `json:"toName,omitempty"`
	StartTime          string `json:"startTime"`
	TelephonyStatus    string `json:"telephonyStatus"`
	SessionID          string `json:"sessionId"`
	TelephonySessionID string `json:"telephonySessionId"`
	PartyID            string `json:"partyId"`
}

// partyTelephonyStatus is a party's status in presence terms.
var partyTelephonyStatus = map[telephony.PartyStatus]telephony.TelephonyStatus{
	telephony.StatusSetup:        telephony.Ringing,
	telephony.StatusProceeding:   telephony.Ringing,
	telephony.StatusAnswered:     telephony.CallConnected,
	telephony.StatusHold:         telephony.OnHold,
	telephony.StatusDisconnected: telephony.NoCall,
}

func number(e telephony.Endpoint) string {
	if e.PhoneNumber != "" {
		return e.PhoneNumber
	}
	return e.ExtensionNumber
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

// startTime is when a live call started for the API: when it was
// answered, or placed while it rings.
func (lc liveCall) startTime() time.Time {
	if !lc.session.Connected.IsZero() {
		return lc.session.Connected
	}
	return lc.session.Created
}

// presenceBody builds the presence resource of an extension.
func (s *Server) presenceBody(ctx context.Context, acct identity.Account, ext identity.Extension, detailed bool) (apiPresenceBody, error) {
	up, err := s.loadUserPresence(ctx, ext.ID)
	if err != nil {
		return apiPresenceBody{}, err
	}
	status, seq := s.telephonyPresence(ext.ID)
	sp := bridge.NewSyncPresence(string(status), up.UserStatus, up.DNDStatus)
	uri := s.extensionURI(acct.ID, ext.ID)
	body := apiPresenceBody{
		URI:       uri + "/presence",
		Extension: apiPresenceExt{ID: ext.ID, URI: uri, ExtensionNumber: ext.Number},
		Sequence:  seq, TelephonyStatus: sp.TelephonyStatus, UserStatus: sp.UserStatus,
		DNDStatus: sp.DNDStatus, PresenceStatus: sp.PresenceStatus,
	}
	if detailed {
		calls := []apiActiveCall{}
		for _, lc := range s.liveCalls(ext.ID) {
			calls = append(calls, activeCallOf(lc))
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

// setUserPresence stores what the user set, applies do-not-disturb to the
// switch and tells the extension's widgets (rc-adapter-syncPresence); a
// change takes the extension's next presence sequence and goes to its
// webhook subscriptions. The values must be valid.
func (s *Server) setUserPresence(ctx context.Context, ext int64, p store.UserPresence) error {
	prev, err := s.loadUserPresence(ctx, ext)
	if err != nil {
		return err
	}
	if err := s.Presences.SetUserPresence(ctx, ext, p); err != nil {
		return err
	}
	s.userPresence.put(ext, p)
	if sw, ok := s.Switch.(presenceSwitch); ok {
		sw.SetDNDStatus(ext, p.DNDStatus)
	}
	status, _ := s.telephonyPresence(ext)
	if _, err := s.Hub.Publish(extensionGroup(ext), bridge.NewSyncPresence(string(status), p.UserStatus, p.DNDStatus)); err != nil {
		s.log.Warn("presence not pushed to the widget", slog.Int64("extension", ext), slog.Any("err", err))
	}
	if p != prev {
		s.userPresenceChanged(ext, p)
	}
	return nil
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
