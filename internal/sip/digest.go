package sip

import (
	"errors"
	"fmt"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// errNoCredentials: the carrier challenged a request and the trunk has no
// password, or the challenge's realm is not the configured one.
var errNoCredentials = errors.New("challenge without matching credentials")

// authorize answers the digest challenge of res (401 WWW-Authenticate or
// 407 Proxy-Authenticate, RFC 3261 22) in req, replacing an earlier answer
// of the same kind.
func (t *trunk) authorize(req *sip.Request, res *sip.Response) error {
	if t.cfg.Password == "" {
		return errNoCredentials
	}
	chName, authName := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		chName, authName = "Proxy-Authenticate", "Proxy-Authorization"
	}
	h := res.GetHeader(chName)
	if h == nil {
		return fmt.Errorf("%d without %s", res.StatusCode, chName)
	}
	chal, err := digest.ParseChallenge(h.Value())
	if err != nil {
		return fmt.Errorf("parse %s: %w", chName, err)
	}
	if t.cfg.Realm != "" && chal.Realm != t.cfg.Realm {
		return fmt.Errorf("realm %q is not the trunk's %q: %w", chal.Realm, t.cfg.Realm, errNoCredentials)
	}
	if chal.Algorithm == "" {
		chal.Algorithm = "MD5"
	}
	user := t.cfg.AuthUsername
	if user == "" {
		user = t.cfg.Username
	}
	cred, err := digest.Digest(chal, digest.Options{
		Method:   string(req.Method),
		URI:      req.Recipient.String(),
		Username: user,
		Password: t.cfg.Password,
	})
	if err != nil {
		return fmt.Errorf("digest answer: %w", err)
	}
	req.RemoveHeader(authName)
	req.AppendHeader(sip.NewHeader(authName, cred.String()))
	return nil
}

// copyAuth carries the answers of earlier challenges to a rebuilt request,
// so a proxy's and a registrar's both stay answered.
func copyAuth(from, to *sip.Request) {
	for _, name := range []string{"Authorization", "Proxy-Authorization"} {
		if h := from.GetHeader(name); h != nil && to.GetHeader(name) == nil {
			to.AppendHeader(sip.NewHeader(name, h.Value()))
		}
	}
}
