package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/params"
	"github.com/callbridge/widget-server/internal/sip"
	"github.com/callbridge/widget-server/internal/store"
)

// SIPDevices keeps the desk phones and softphones of extensions: their
// SIP credentials, the password only as its HA1 (internal/store
// implements it). The registrar reads them on every REGISTER, so what
// changes here applies at once.
type SIPDevices interface {
	AddSIPDevice(ctx context.Context, d *store.SIPDevice) error
	SIPDevicesOf(ctx context.Context, extensionID int64) ([]store.SIPDevice, error)
	RemoveSIPDevice(ctx context.Context, username string) error
}

// Registrar is where phones register with this server, as a phone is
// told: the digest realm and the registrar's addresses, one per
// transport. No addresses: the server runs no registrar (no SIP
// listener), and phones cannot be added through the API.
type Registrar struct {
	Realm     string
	Endpoints []RegistrarEndpoint
}

// RegistrarEndpoint is one address phones reach the registrar (and
// outbound proxy) at.
type RegistrarEndpoint struct {
	Host      string
	Port      int
	Transport sip.Transport
}

// Password rules of a phone: a captured digest answer can be tried
// against guesses offline, so it must not be guessable (as
// `widget-server phones add` has it); and a phone's settings must be able
// to take it.
const (
	minSIPPassword = sip.MinDevicePassword
	maxSIPPassword = 128
)

// sipDeviceAPIRoutes mounts the desk phones of an extension
// (docs/api-sip-devices.md). The extension's user may read them; adding
// and removing are for administrators of the account.
func (s *Server) sipDeviceAPIRoutes(g *echo.Group, mw []echo.MiddlewareFunc) {
	const base = "/account/:accountId/extension/:extensionId/sip-devices"
	g.GET(base, s.apiListSIPDevices, mw...)
	g.POST(base, s.apiCreateSIPDevice, mw...)
	g.GET(base+"/:deviceId", s.apiGetSIPDevice, mw...)
	g.DELETE(base+"/:deviceId", s.apiDeleteSIPDevice, mw...)
}

// sipDeviceRequest is the body of POST …/sip-devices.
type sipDeviceRequest struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	DisplayName string `json:"displayName"`
}

// apiSIPDevice is the SIP device resource. It never carries the password
// or its HA1, which is password-equivalent in the realm.
type apiSIPDevice struct {
	URI          string          `json:"uri"`
	ID           int64           `json:"id"`
	Username     string          `json:"username"`
	DisplayName  string          `json:"displayName"`
	Realm        string          `json:"realm"`
	CreationTime string          `json:"creationTime"`
	Extension    apiExtensionRef `json:"extension"`
	SIPInfo      apiSIPInfo      `json:"sipInfo"`
}

// apiSIPInfo is what to enter in the phone, besides its password.
type apiSIPInfo struct {
	UserName        string         `json:"userName"`
	AuthorizationID string         `json:"authorizationId"`
	Domain          string         `json:"domain"`
	Registrars      []apiRegistrar `json:"registrars"`
}

type apiRegistrar struct {
	Host      string `json:"host"`
	Port      int    `json:"port"`
	Transport string `json:"transport"`
}

type apiSIPDeviceList struct {
	URI     string         `json:"uri"`
	Records []apiSIPDevice `json:"records"`
}

var (
	errNoSIPDevices = &httperror.Error{Status: http.StatusNotImplemented, Code: "NotImplemented",
		Message: "desk phones are not managed through the API on this server"}
	errRegistrarOff = &httperror.Error{Status: http.StatusNotImplemented, Code: "RegistrarOff",
		Message: "this server has no SIP listener, so no phone could register: start it with --sip-listen (docs/sip.md), then add the phone"}
	errSIPDeviceAdminOnly = &httperror.Error{Status: http.StatusForbidden, Code: "InsufficientPermissions",
		Message: "only an administrator of the account adds and removes phones"}
	errNoSuchSIPDevice = &httperror.Error{Status: http.StatusNotFound, Code: "NotFound", Message: "no such SIP device of this extension"}
)

// apiListSIPDevices answers GET …/sip-devices: the extension's phones, by
// username. A department has none.
func (s *Server) apiListSIPDevices(c echo.Context) error {
	if s.Phones == nil {
		return errNoSIPDevices
	}
	a, x, err := s.apiTarget(c)
	if err != nil {
		return err
	}
	devices, err := s.Phones.SIPDevicesOf(c.Request().Context(), x.ID)
	if err != nil {
		return err
	}
	out := apiSIPDeviceList{URI: s.sipDevicesURI(a.ID, x.ID), Records: make([]apiSIPDevice, 0, len(devices))}
	for _, d := range devices {
		out.Records = append(out.Records, s.apiSIPDevice(a.ID, d))
	}
	return c.JSON(http.StatusOK, out)
}

// apiGetSIPDevice answers GET …/sip-devices/{deviceId}.
func (s *Server) apiGetSIPDevice(c echo.Context) error {
	if s.Phones == nil {
		return errNoSIPDevices
	}
	a, x, err := s.apiTarget(c)
	if err != nil {
		return err
	}
	d, err := s.pathSIPDevice(c, x)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.apiSIPDevice(a.ID, d))
}

// apiCreateSIPDevice answers POST …/sip-devices: an administrator gives
// an extension a phone. The password is kept only as its HA1 in the
// registrar's realm; the answer (201) says what to enter in the phone.
func (s *Server) apiCreateSIPDevice(c echo.Context) error {
	if s.Phones == nil {
		return errNoSIPDevices
	}
	a, x, err := s.apiTarget(c)
	if err != nil {
		return err
	}
	if !caller(c).Extension.Admin() {
		return errSIPDeviceAdminOnly
	}
	if x.Department() {
		return &httperror.Error{Status: http.StatusBadRequest, Code: "DepartmentHasNoPhones",
			Message: "extension " + x.Number + " is a department: phones belong to users, and its members' phones ring for it"}
	}
	if len(s.cfg.Registrar.Endpoints) == 0 {
		return errRegistrarOff
	}
	var req sipDeviceRequest
	if err := params.JSON(c, &req); err != nil {
		return err
	}
	d := store.SIPDevice{ExtensionID: x.ID, Username: strings.TrimSpace(req.Username),
		DisplayName: strings.TrimSpace(req.DisplayName), Realm: s.cfg.Registrar.Realm}
	if !sip.ValidDeviceUsername(d.Username) {
		return httperror.InvalidParam("username", "1-32 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, such as 101-desk")
	}
	if err := checkSIPPassword(req.Password); err != nil {
		return err
	}
	d.HA1 = sip.HA1(d.Username, d.Realm, req.Password)
	err = s.Phones.AddSIPDevice(c.Request().Context(), &d)
	switch {
	case errors.Is(err, identity.ErrConflict):
		return &httperror.Error{Status: http.StatusConflict, Code: "UsernameTaken", Param: "username",
			Message: "a phone has the username " + d.Username + " already: usernames are unique on the server; choose another"}
	case errors.Is(err, identity.ErrInvalid):
		// The username, realm and HA1 were checked above: what is left
		// is the display name.
		return &httperror.Error{Status: http.StatusBadRequest, Code: httperror.CodeInvalidParameter, Param: "displayName", Err: err,
			Message: "Parameter [displayName] value is invalid: at most 64 characters, no control characters"}
	case err != nil:
		return err // identity.ErrNotFound when the extension has just gone: 404
	}
	s.log.InfoContext(c.Request().Context(), "SIP device added", slog.String("username", d.Username),
		slog.Int64("extension", x.ID), slog.Int64("by", caller(c).Extension.ID))
	c.Response().Header().Set(echo.HeaderLocation, s.sipDeviceURI(a.ID, d))
	return c.JSON(http.StatusCreated, s.apiSIPDevice(a.ID, d))
}

// apiDeleteSIPDevice answers DELETE …/sip-devices/{deviceId} with 204:
// an administrator removes a phone. From then on it is neither rung nor
// let call; its registration runs out.
func (s *Server) apiDeleteSIPDevice(c echo.Context) error {
	if s.Phones == nil {
		return errNoSIPDevices
	}
	_, x, err := s.apiTarget(c)
	if err != nil {
		return err
	}
	if !caller(c).Extension.Admin() {
		return errSIPDeviceAdminOnly
	}
	d, err := s.pathSIPDevice(c, x)
	if err != nil {
		return err
	}
	if err := s.Phones.RemoveSIPDevice(c.Request().Context(), d.Username); err != nil {
		if errors.Is(err, identity.ErrNotFound) {
			return errNoSuchSIPDevice
		}
		return err
	}
	s.log.InfoContext(c.Request().Context(), "SIP device removed", slog.String("username", d.Username),
		slog.Int64("extension", d.ExtensionID), slog.Int64("by", caller(c).Extension.ID))
	return c.NoContent(http.StatusNoContent)
}

// pathSIPDevice returns the path's device if it is one of extension x.
func (s *Server) pathSIPDevice(c echo.Context, x identity.Extension) (store.SIPDevice, error) {
	id, err := strconv.ParseInt(c.Param("deviceId"), 10, 64)
	if err != nil || id <= 0 {
		return store.SIPDevice{}, errNoSuchSIPDevice
	}
	devices, err := s.Phones.SIPDevicesOf(c.Request().Context(), x.ID)
	if err != nil {
		return store.SIPDevice{}, err
	}
	for _, d := range devices {
		if d.ID == id {
			return d, nil
		}
	}
	return store.SIPDevice{}, errNoSuchSIPDevice
}

// checkSIPPassword refuses a password that could be guessed or that a
// phone could not take.
func checkSIPPassword(p string) error {
	n := utf8.RuneCountInString(p)
	switch {
	case p == "":
		return httperror.InvalidParam("password", "is required: at least "+strconv.Itoa(minSIPPassword)+" characters (try: openssl rand -base64 15)")
	case n < minSIPPassword:
		return httperror.InvalidParam("password", "fewer than "+strconv.Itoa(minSIPPassword)+" characters; a phone's must not be guessable (try: openssl rand -base64 15)")
	case n > maxSIPPassword:
		return httperror.InvalidParam("password", "more than "+strconv.Itoa(maxSIPPassword)+" characters")
	case !utf8.ValidString(p) || strings.ContainsFunc(p, unicode.IsControl):
		return httperror.InvalidParam("password", "control characters cannot be entered in a phone")
	}
	return nil
}

func (s *Server) sipDevicesURI(accountID, extensionID int64) string {
	return s.extensionURI(accountID, extensionID) + "/sip-devices"
}

func (s *Server) sipDeviceURI(accountID int64, d store.SIPDevice) string {
	return s.sipDevicesURI(accountID, d.ExtensionID) + "/" + strconv.FormatInt(d.ID, 10)
}

// apiSIPDevice is a device as the API shows it: never its HA1.
func (s *Server) apiSIPDevice(accountID int64, d store.SIPDevice) apiSIPDevice {
	registrars := make([]apiRegistrar, len(s.cfg.Registrar.Endpoints))
	for i, e := range s.cfg.Registrar.Endpoints {
		registrars[i] = apiRegistrar{Host: e.Host, Port: e.Port, Transport: strings.ToUpper(string(e.Transport))}
	}
	return apiSIPDevice{
		URI: s.sipDeviceURI(accountID, d), ID: d.ID, Username: d.Username, DisplayName: d.DisplayName, Realm: d.Realm,
		CreationTime: d.Created.UTC().Format(apiTimeFormat),
		Extension:    apiExtensionRef{ID: d.ExtensionID, URI: s.extensionURI(accountID, d.ExtensionID)},
		SIPInfo:      apiSIPInfo{UserName: d.Username, AuthorizationID: d.Username, Domain: d.Realm, Registrars: registrars},
	}
}
