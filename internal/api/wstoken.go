package api

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// socketPath is where clients open the socket (the wstoken answer's uri).
const socketPath = "/ws"

// wsTokenAnswer is the answer to POST /restapi/oauth/wstoken, field for
// field what the platform's SDK (@rc-ex/ws) reads.
type wsTokenAnswer struct {
	URI           string `json:"uri"`             // the socket's URL, ws: or wss:
	WSAccessToken string `json:"ws_access_token"` // goes in the URL's access_token query
	ExpiresIn     int64  `json:"expires_in"`      // seconds
}

// socketTokens makes and checks socket tokens: an extension, its account
// and an expiry under an HMAC-SHA256 (SocketConfig.TokenKey). A socket
// token opens the socket and nothing else; the API does not take it.
type socketTokens struct {
	key []byte
	now func() time.Time
}

// newSocketTokens signs with key, or a random key when it is nil.
func newSocketTokens(key []byte, now func() time.Time) socketTokens {
	if key == nil {
		key = make([]byte, 32)
		rand.Read(key)
	}
	return socketTokens{key: key, now: now}
}

// socketTokenPrefix marks socket tokens, so one given as an access token is
// told apart at a glance in logs.
const socketTokenPrefix = "ws1."

func (t socketTokens) issue(accountID, extensionID int64, life time.Duration) string {
	var b [32]byte
	binary.BigEndian.PutUint64(b[0:], uint64(accountID))
	binary.BigEndian.PutUint64(b[8:], uint64(extensionID))
	binary.BigEndian.PutUint64(b[16:], uint64(t.now().Add(life).Unix()))
	rand.Read(b[24:])
	return socketTokenPrefix + base64.RawURLEncoding.EncodeToString(b[:]) + "." + base64.RawURLEncoding.EncodeToString(t.mac(b[:]))
}

func (t socketTokens) mac(b []byte) []byte {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte("callbridge socket token v1"))
	m.Write(b)
	return m.Sum(nil)
}

// check returns the account and extension of a token that is genuine and
// has not expired.
func (t socketTokens) check(tok string) (accountID, extensionID int64, ok bool) {
	rest, found := strings.CutPrefix(tok, socketTokenPrefix)
	if !found || len(tok) > 128 {
		return 0, 0, false
	}
	payload, sig, _ := strings.Cut(rest, ".")
	b, err1 := base64.RawURLEncoding.DecodeString(payload)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || len(b) != 32 || !hmac.Equal(mac, t.mac(b)) {
		return 0, 0, false
	}
	if t.now().Unix() >= int64(binary.BigEndian.Uint64(b[16:])) {
		return 0, 0, false
	}
	return int64(binary.BigEndian.Uint64(b[0:])), int64(binary.BigEndian.Uint64(b[8:])), true
}

// socketURL is the socket's URL: the public URL with ws for http and wss
// for https.
func (s *Server) socketURL() string {
	u := s.cfg.PublicURL
	switch {
	case strings.HasPrefix(u, "https://"):
		u = "wss://" + strings.TrimPrefix(u, "https://")
	case strings.HasPrefix(u, "http://"):
		u = "ws://" + strings.TrimPrefix(u, "http://")
	}
	return u + socketPath
}

// apiWSToken answers POST /restapi/oauth/wstoken: a socket token for the
// bearer's extension, and where to open the socket.
func (s *Server) apiWSToken(c echo.Context) error {
	who := caller(c)
	life := s.cfg.Socket.TokenLifetime
	return c.JSON(http.StatusOK, wsTokenAnswer{
		URI:           s.socketURL(),
		WSAccessToken: s.socketTokens.issue(who.Account.ID, who.Extension.ID, life),
		ExpiresIn:     int64(life / time.Second),
	})
}
