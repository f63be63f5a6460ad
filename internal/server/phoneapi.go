package server

import (
	"net/url"

	"github.com/callbridge/widget-server/internal/api"
	"github.com/callbridge/widget-server/internal/sip"
)

// phoneRegistrar is where the platform API tells phones to register: the
// realm, and each listener of the running user agent (none when SIP is
// off) at the public host when given, else at its own address, else, for
// a listener on every interface, at the host of the server's public URL.
func phoneRegistrar(ua *sip.UA, realm, publicHost, publicURL string) api.Registrar {
	if realm == "" {
		realm = sip.DefaultRealm
	}
	r := api.Registrar{Realm: realm}
	if ua == nil {
		return r
	}
	for _, t := range []sip.Transport{sip.UDP, sip.TCP, sip.TLS} {
		addr, ok := ua.Addr(t)
		if !ok {
			continue
		}
		host := publicHost
		switch {
		case host != "":
		case addr.Addr().IsUnspecified():
			if u, err := url.Parse(publicURL); err == nil {
				host = u.Hostname()
			}
		default:
			host = addr.Addr().String()
		}
		r.Endpoints = append(r.Endpoints, api.RegistrarEndpoint{Host: host, Port: int(addr.Port()), Transport: t})
	}
	return r
}
