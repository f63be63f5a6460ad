package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/callbridge/widget-server/internal/identity"
)

// Development mode is for a developer's machine: the demo users are seeded
// with a password everyone knows, webhooks may target plain http and
// loopback, the media gateway binds loopback, and apps may register http
// loopback origins. The default production shape — --listen on loopback
// behind a TLS proxy with an https --public-url — must never get it by
// accident, so the listener alone does not decide.

// ResolveDev turns the --dev setting ("auto", "true" or "false", or any form
// strconv.ParseBool reads) into development mode for a server listening on
// listen with publicURL (empty when not given). "auto" is development only
// where AutoDev says so.
func ResolveDev(setting, publicURL, listen string) (bool, error) {
	if strings.EqualFold(strings.TrimSpace(setting), "auto") || strings.TrimSpace(setting) == "" {
		dev, _ := AutoDev(publicURL, listen)
		return dev, nil
	}
	on, err := strconv.ParseBool(strings.TrimSpace(setting))
	if err != nil {
		return false, fmt.Errorf("dev %q: want auto, true or false", setting)
	}
	return on, nil
}

// AutoDev reports whether a server is on a developer's machine: its
// listener is on loopback and its public URL is either not given or plain
// http on localhost or a loopback IP. why says which condition decided.
func AutoDev(publicURL, listen string) (dev bool, why string) {
	if !loopbackListen(listen) {
		return false, "the listener " + listen + " is not on loopback"
	}
	if publicURL == "" {
		return true, "the listener is on loopback and no public URL is given"
	}
	u, err := url.Parse(publicURL)
	if err != nil || u.Scheme != "http" || !loopbackHost(u.Hostname()) {
		return false, "the public URL " + publicURL + " is not plain http on loopback"
	}
	return true, "the listener and the public URL " + publicURL + " are on loopback"
}

// loopbackListen reports whether a listen address (host:port) binds
// loopback only: "" and unspecified hosts bind every interface, and a name
// other than localhost is not assumed to be loopback.
func loopbackListen(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	return err == nil && loopbackHost(host)
}

// loopbackHost reports whether host is localhost or a loopback IP.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return ip != nil && ip.IsLoopback()
}

// mediaBinding is where the media gateway binds its UDP port: the
// configured IP, else 127.0.0.1 in development mode and every interface
// otherwise. Loopback candidates are offered exactly when it binds
// loopback (otherwise a browser could be offered nothing, or an address it
// cannot reach).
func mediaBinding(dev bool, configured string) (ip string, includeLoopback bool, err error) {
	if configured == "" {
		if dev {
			return "127.0.0.1", true, nil
		}
		return "", false, nil
	}
	parsed := net.ParseIP(configured)
	if parsed == nil || parsed.To4() == nil {
		return "", false, fmt.Errorf("media listen %q: want an IPv4 address", configured)
	}
	if parsed.IsUnspecified() {
		return "", false, nil
	}
	return parsed.String(), parsed.IsLoopback(), nil
}

// logMode says at start whether the server runs in development mode and
// why; development mode where AutoDev would not choose it is a warning.
func logMode(log *slog.Logger, dev bool, publicURL string, ln net.Addr) {
	auto, why := AutoDev(publicURL, ln.String())
	switch {
	case dev && auto:
		log.Info("development mode: demo users, webhooks to loopback, media on loopback", slog.String("why", why))
	case dev:
		log.Warn("development mode although "+why+": demo users with a known password, webhooks to loopback",
			slog.String("why", "asked for (--dev=true)"))
	case auto:
		log.Info("production mode", slog.String("why", "development mode turned off (--dev=false)"))
	default:
		log.Info("production mode", slog.String("why", why))
	}
}

// demoUsers seeds the demo users in development mode. Elsewhere it seeds
// nothing, makes their demo password useless and warns, once, naming them,
// when a data dir seeded on a development machine still holds them.
func demoUsers(ctx context.Context, dir *identity.Directory, dev bool, log *slog.Logger) error {
	if dev {
		if err := dir.SeedDemo(ctx); err != nil {
			return fmt.Errorf("seed demo users: %w", err)
		}
		return nil
	}
	dir.RefuseDemoPassword()
	users, err := dir.DemoUsers(ctx)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		log.Warn("demo users exist outside development mode: their password "+identity.DemoPassword+
			" is refused; remove them or set passwords of their own (widget-server extensions set-password)",
			slog.String("users", strings.Join(users, ", ")))
	}
	return nil
}

// ParseTrustedProxies reads the trusted proxies: CIDRs ("10.0.0.0/8",
// "fd00::/8") or single IPs ("127.0.0.1"), each standing for itself.
func ParseTrustedProxies(list []string) ([]*net.IPNet, error) {
	var nets []*net.IPNet
	for _, s := range list {
		if !strings.Contains(s, "/") {
			ip := net.ParseIP(s)
			if ip == nil {
				return nil, fmt.Errorf("trusted proxy %q: want a CIDR such as 10.0.0.0/8 or an IP", s)
			}
			bits := 128
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			nets = append(nets, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: want a CIDR such as 10.0.0.0/8 or an IP", s)
		}
		nets = append(nets, n)
	}
	return nets, nil
}
