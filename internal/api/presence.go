package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/params"
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

// SyncPresence is rc-adapter-syncPresence for the extension as it is now:
// what the widget's state shows.
func (s *Server) SyncPresence(ctx context.Context, ext int64) (bridge.SyncPresence, error) {
	up, err := s.loadUserPresence(ctx, ext)
	if err != nil {
		return bridge.SyncPresence{}, err
	}
	status, _ := s.telephonyPresence(ext)
	return bridge.NewSyncPresence(string(status), up.UserStatus, up.DNDStatus), nil
}

// WithUserPresence completes the rc-adapter-syncPresence of a call event,
// which knows only the telephony status, with what the user set.
func (s *Server) WithUserPresence(ext int64, env bridge.Envelope) bridge.Envelope {
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
	if v, ok := params.First(c.QueryParams(), "detailedTelephonyState"); ok {
		switch strings.ToLower(v) {
		case "true":
			detailed = true
		case "false":
		default:
			return httperror.InvalidParam("detailedTelephonyState", "true or false")
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
	var req presenceUpdate
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	if err := s.UpdateUserPresence(c.Request().Context(), ext.ID, req.UserStatus, req.DNDStatus); err != nil {
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
	if s.Widgets != nil {
		s.Widgets.PresenceChanged(ext, bridge.NewSyncPresence(string(status), p.UserStatus, p.DNDStatus))
	}
	if p != prev {
		s.userPresenceChanged(ext, p)
	}
	return nil
}

// UpdateUserPresence applies a presence update {userStatus?, dndStatus?}
// to the extension (what is left out stays): the values are checked
// (400 naming the field), stored, do-not-disturb applied to the switch, the
// extension's widgets and webhook subscriptions told. PUT …/presence and
// the widget's PUT /widget/presence both come here.
func (s *Server) UpdateUserPresence(ctx context.Context, ext int64, userStatus, dndStatus *string) error {
	if s.Presences == nil {
		return &httperror.Error{Status: http.StatusNotImplemented, Code: "NotImplemented", Message: "presence cannot be set on this server"}
	}
	p, err := s.loadUserPresence(ctx, ext)
	if err != nil {
		return err
	}
	if userStatus != nil {
		if p.UserStatus, err = params.Enum("userStatus", *userStatus, userStatuses); err != nil {
			return err
		}
	}
	if dndStatus != nil {
		if p.DNDStatus, err = params.Enum("dndStatus", *dndStatus, dndStatuses); err != nil {
			return err
		}
	}
	return s.setUserPresence(ctx, ext, p)
}
