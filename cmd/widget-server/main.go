// Command widget-server runs Callbridge: the embeddable phone widget, the
// phone system behind it and its demo host page, in one process.
//
//	widget-server [flags]            run the server
//	widget-server apps list|add|remove  manage registered apps
//	widget-server accounts list|add     manage accounts
//	widget-server extensions list|add|import|members|set-password|disable|enable
//	                                    manage extensions, department members, passwords and status
//	widget-server trunks list|add|remove  manage SIP trunks to carriers
//	widget-server phones list|add|remove  manage the SIP desk phones and softphones of extensions
//
// Every flag has a WIDGET_* environment equivalent; see docs/configuration.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/callbridge/widget-server/internal/media"
	"github.com/callbridge/widget-server/internal/server"
	"github.com/callbridge/widget-server/internal/sip"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "widget-server:", err)
		}
		os.Exit(2)
	}
}

// run parses the command line and environment and runs the chosen command.
// lookupEnv reads an environment variable; ok is false when it is not set
// (an empty value is a value: WIDGET_DEMO_LISTEN= turns the demo off).
type lookupEnv func(name string) (value string, ok bool)

// run runs a command, or else the server; stdin is read only by commands
// that take a password.
func run(ctx context.Context, args []string, getenv lookupEnv, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "apps":
			return runApps(ctx, args[1:], getenv, stdout, stderr)
		case "accounts":
			return runAccounts(ctx, args[1:], getenv, stdout, stderr)
		case "extensions":
			return runExtensions(ctx, args[1:], getenv, stdin, stdout, stderr)
		case "trunks":
			return runTrunks(ctx, args[1:], getenv, stdin, stdout, stderr)
		case "phones":
			return runPhones(ctx, args[1:], getenv, stdin, stdout, stderr)
		case "jwt":
			return runJWT(ctx, args[1:], getenv, stdout, stderr)
		}
	}
	opts, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	cfg := opts.Config
	cfg.Stdout = stdout
	hopts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		cfg.Logger = slog.New(slog.NewJSONHandler(stderr, hopts))
	} else {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, hopts))
	}
	planMemory(getenv, opts.memoryLimit, systemMemory()).apply(cfg.Logger, getenv)
	return server.Run(ctx, cfg)
}

// options are the server's Config and what the program itself takes from
// the command line.
type options struct {
	server.Config
	memoryLimit int64 // --memory-limit in bytes; 0: none given
}

// envFlags binds flags whose defaults come from WIDGET_* variables.
type envFlags struct {
	fs     *flag.FlagSet
	getenv lookupEnv
}

// databaseUsage is the --database flag's help, the same in every command.
const databaseUsage = "PostgreSQL URL (postgres://user:password@host/db); empty: the SQLite database in the data dir"

// database binds --database and returns where its value goes.
func (e envFlags) database() *string {
	var url string
	e.str(&url, "database", "WIDGET_DATABASE", "", databaseUsage)
	return &url
}

func (e envFlags) str(dst *string, name, env, def, usage string) {
	if v, ok := e.getenv(env); ok {
		def = v
	}
	e.fs.StringVar(dst, name, def, usage+" ($"+env+")")
}

func parseConfig(args []string, getenv lookupEnv, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("widget-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ef := envFlags{fs, getenv}
	var opts options
	cfg := &opts.Config
	var level string
	ef.str(&cfg.Listen, "listen", "WIDGET_LISTEN", "127.0.0.1:8080", "widget listener address")
	ef.str(&cfg.PublicURL, "public-url", "WIDGET_PUBLIC_URL", "", "widget base URL as browsers see it (default http://localhost:PORT)")
	ef.str(&cfg.DemoListen, "demo-listen", "WIDGET_DEMO_LISTEN", "127.0.0.1:8081", "demo host page listener address; empty turns the demo off")
	ef.str(&cfg.DemoURL, "demo-url", "WIDGET_DEMO_URL", "", "demo page base URL (default http://127.0.0.1:PORT)")
	ef.str(&cfg.DataDir, "data-dir", "WIDGET_DATA_DIR", "./data", "directory for the database, audio files and generated keys")
	ef.str(&cfg.Database, "database", "WIDGET_DATABASE", "", databaseUsage)
	ef.str(&cfg.NATSURL, "nats-url", "WIDGET_NATS_URL", "", "NATS servers with JetStream (nats://host:4222, comma-separated) that join this node to a cluster; empty: a single node")
	ef.str(&level, "log-level", "WIDGET_LOG_LEVEL", "info", "log level: debug, info, warn or error")
	ef.str(&cfg.LogFormat, "log-format", "WIDGET_LOG_FORMAT", "text", "log format: text (key=value lines) or json (one object per line)")
	ef.str(&cfg.SessionKeys, "session-keys", "WIDGET_SESSION_KEYS", "", "session cookie keys as hex HASHKEY:BLOCKKEY (default: generated once into the data dir)")
	ef.str(&cfg.CountryCode, "country-code", "WIDGET_COUNTRY_CODE", "US", "default region country code (ISO 3166)")
	ef.str(&cfg.AreaCode, "area-code", "WIDGET_AREA_CODE", "", "default region area code")
	ef.str(&cfg.OIDCIssuer, "oidc-issuer", "WIDGET_OIDC_ISSUER", "", "external OpenID Connect issuer that signs users in instead of the built-in server")
	ef.str(&cfg.OIDCClientID, "oidc-client-id", "WIDGET_OIDC_CLIENT_ID", "", "client id registered at the external issuer")
	ef.str(&cfg.OIDCClientSecret, "oidc-client-secret", "WIDGET_OIDC_CLIENT_SECRET", "", "client secret at the external issuer (prefer the environment variable)")
	ef.str(&cfg.SMSWebhookURL, "sms-webhook-url", "WIDGET_SMS_WEBHOOK_URL", "", "the SMS provider's webhook: SMS to numbers not served here are POSTed to it, signed")
	ef.str(&cfg.SMSWebhookSecretFile, "sms-webhook-secret-file", "WIDGET_SMS_WEBHOOK_SECRET_FILE", "", "file with the secret (16 bytes or more) that signs the SMS webhooks both ways")
	ef.str(&cfg.DebugListen, "debug-addr", "WIDGET_DEBUG_ADDR", "", "loopback address serving pprof and expvar (/debug/pprof/, /debug/vars); empty turns it off")
	ef.str(&cfg.MetricsListen, "metrics-addr", "WIDGET_METRICS_ADDR", "", "address of a listener of its own serving Prometheus metrics at /metrics; empty: none")
	ef.str(&cfg.MetricsToken, "metrics-token", "WIDGET_METRICS_TOKEN", "", "bearer token /metrics asks for; set, it serves /metrics on the widget listener too (prefer the environment variable)")
	dev := devFlag{"auto"}
	if v, ok := getenv("WIDGET_DEV"); ok {
		dev.value = v
	}
	fs.Var(&dev, "dev", "development mode: demo users, webhooks to loopback, media on loopback; true, false or auto (on only on a loopback listener with no public URL or an http loopback one) ($WIDGET_DEV)")
	var mediaPort, publicIPs, iceServers, ringTimeout, apiRate, heartbeat, proxies, widgetRate, smsRate string
	var streamCap, deviceCap, deviceCallCap, extensionCallCap, socketCap string
	var voicemailLimit, retention, memoryLimit string
	var rtpPorts, sipListen, sipTLSListen, sipTLSCert, sipTLSKey string
	ef.str(&proxies, "trusted-proxies", "WIDGET_TRUSTED_PROXIES", "", "comma-separated CIDRs (or IPs) of the reverse proxies whose X-Forwarded-For / X-Real-IP are believed; none: the peer's address counts")
	ef.str(&mediaPort, "media-port", "WIDGET_MEDIA_PORT", "50000", "the media gateway's single UDP port (0: any free port)")
	ef.str(&cfg.MediaListen, "media-listen", "WIDGET_MEDIA_LISTEN", "", "IPv4 address the media gateway binds its UDP port on (default: 127.0.0.1 in development mode, every interface otherwise)")
	ef.str(&publicIPs, "public-ip", "WIDGET_PUBLIC_IP", "", "comma-separated public IPs the media gateway advertises (behind 1:1 NAT)")
	ef.str(&iceServers, "ice-servers", "WIDGET_ICE_SERVERS", "", "comma-separated STUN/TURN URLs handed to browsers")
	ef.str(&rtpPorts, "rtp-ports", "WIDGET_RTP_PORTS", "20000-20999", "UDP port range (min-max) of the RTP legs toward SIP trunks, bound on the media listen address")
	ef.str(&cfg.RTPAdvertise, "rtp-advertise", "WIDGET_RTP_ADVERTISE", "", "IPv4 address RTP legs give carriers in SDP (default: the first public IP, else the media listen address, else the host's first non-loopback address)")
	ef.str(&sipListen, "sip-listen", "WIDGET_SIP_LISTEN", "", "comma-separated SIP listen addresses, [udp:|tcp:]host:port (bare: UDP and TCP); empty: off, unless trunks are kept and in development mode ("+server.DevSIPListen+")")
	ef.str(&sipTLSListen, "sip-tls-listen", "WIDGET_SIP_TLS_LISTEN", "", "SIP over TLS listen address, host:port (needs --sip-tls-cert and --sip-tls-key)")
	ef.str(&sipTLSCert, "sip-tls-cert", "WIDGET_SIP_TLS_CERT", "", "PEM certificate file of the SIP TLS listener")
	ef.str(&sipTLSKey, "sip-tls-key", "WIDGET_SIP_TLS_KEY", "", "PEM private key file of the SIP TLS listener")
	ef.str(&cfg.SIPRealm, "sip-realm", "WIDGET_SIP_REALM", sip.DefaultRealm, "the digest realm desk phones register in (docs/sip.md)")
	ef.str(&cfg.SIPPublicHost, "sip-public-host", "WIDGET_SIP_PUBLIC_HOST", "", "address carriers reach the SIP listener at, written in Via and Contact (behind NAT: the public IP)")
	ef.str(&ringTimeout, "ring-timeout", "WIDGET_RING_TIMEOUT", "20s", "how long a call rings a user without an answering rule of their own, and a number outside the account")
	ef.str(&cfg.AudioDir, "audio-dir", "WIDGET_AUDIO_DIR", "", "directory of voicemail, call recordings and greetings (default: audio in the data dir)")
	ef.str(&voicemailLimit, "voicemail-limit", "WIDGET_VOICEMAIL_LIMIT", "3m", "the longest voicemail message a caller may leave")
	ef.str(&retention, "audio-retention", "WIDGET_AUDIO_RETENTION", "0", "days voicemail and call recordings are kept (0: until deleted)")
	ef.str(&cfg.RecordingAnnouncement, "recording-announcement", "WIDGET_RECORDING_ANNOUNCEMENT", "off", "what every party hears when a recording of their call starts: off, beep, or an Ogg Opus file")
	ef.str(&apiRate, "api-rate-limit", "WIDGET_API_RATE_LIMIT", "60/10s", "platform API requests each extension may make per window, as COUNT/WINDOW")
	ef.str(&heartbeat, "events-heartbeat", "WIDGET_EVENTS_HEARTBEAT", "15s", "how often an idle event stream sends a heartbeat (the widget reopens a stream silent for twice as long)")
	ef.str(&widgetRate, "widget-rate-limit", "WIDGET_WIDGET_RATE_LIMIT", "120/10s", "widget requests each session may make per window, as COUNT/WINDOW")
	ef.str(&smsRate, "sms-rate-limit", "WIDGET_SMS_RATE_LIMIT", "30/1m", "messages each extension may send from the widget per window, as COUNT/WINDOW")
	ef.str(&streamCap, "max-streams-per-session", "WIDGET_MAX_STREAMS_PER_SESSION", "20", "event streams one widget session may hold open")
	ef.str(&deviceCap, "max-devices-per-session", "WIDGET_MAX_DEVICES_PER_SESSION", "10", "phones (widget tabs) one session may register")
	ef.str(&deviceCallCap, "max-calls-per-device", "WIDGET_MAX_CALLS_PER_DEVICE", "4", "calls one phone may carry at once")
	ef.str(&extensionCallCap, "max-calls-per-extension", "WIDGET_MAX_CALLS_PER_EXTENSION", "20", "calls all phones of one extension may carry at once")
	ef.str(&socketCap, "max-sockets-per-extension", "WIDGET_MAX_SOCKETS_PER_EXTENSION", "10", "WebSocket subscription sessions one extension may hold, connected or awaiting recovery")
	ef.str(&memoryLimit, "memory-limit", "WIDGET_MEMORY_LIMIT", "", "the heap's soft limit, as GOMEMLIMIT writes it (2GiB); default: 90% of the cgroup's memory.max, else half the physical memory, unless GOGC or GOMEMLIMIT is set")
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	port, err := strconv.Atoi(mediaPort)
	if err != nil || port < 0 || port > 65535 {
		return opts, fmt.Errorf("media port %q: want 0-65535", mediaPort)
	}
	cfg.MediaPort = port
	if ip := net.ParseIP(cfg.MediaListen); cfg.MediaListen != "" && (ip == nil || ip.To4() == nil) {
		return opts, fmt.Errorf("media listen %q: want an IPv4 address such as 0.0.0.0 or 10.0.0.5", cfg.MediaListen)
	}
	if cfg.RTPPorts, err = media.ParsePortRange(rtpPorts); err != nil {
		return opts, fmt.Errorf("rtp ports %q: want min-max such as 20000-20999, with an even port and its odd neighbour inside", rtpPorts)
	}
	if ip := net.ParseIP(cfg.RTPAdvertise); cfg.RTPAdvertise != "" && (ip == nil || ip.To4() == nil || ip.IsUnspecified()) {
		return opts, fmt.Errorf("rtp advertise %q: want the IPv4 address carriers send audio to, such as 203.0.113.10", cfg.RTPAdvertise)
	}
	if cfg.SIPListen, err = parseSIPListen(sipListen, sipTLSListen, sipTLSCert, sipTLSKey); err != nil {
		return opts, err
	}
	if cfg.Dev, err = server.ResolveDev(dev.value, cfg.PublicURL, cfg.Listen); err != nil {
		return opts, err
	}
	cfg.PublicIPs = splitList(publicIPs)
	cfg.TrustedProxies = splitList(proxies)
	if _, err := server.ParseTrustedProxies(cfg.TrustedProxies); err != nil {
		return opts, err
	}
	cfg.ICEServers = splitList(iceServers)
	if cfg.RingTimeout, err = time.ParseDuration(ringTimeout); err != nil || cfg.RingTimeout < time.Second {
		return opts, fmt.Errorf("ring timeout %q: want a duration of at least 1s", ringTimeout)
	}
	if cfg.VoicemailLimit, err = time.ParseDuration(voicemailLimit); err != nil || cfg.VoicemailLimit < 10*time.Second || cfg.VoicemailLimit > time.Hour {
		return opts, fmt.Errorf("voicemail limit %q: want a duration from 10s to 1h", voicemailLimit)
	}
	days, err := strconv.Atoi(retention)
	if err != nil || days < 0 || days > 36500 {
		return opts, fmt.Errorf("audio retention %q: want whole days from 0 (keep) to 36500", retention)
	}
	cfg.AudioRetention = time.Duration(days) * 24 * time.Hour
	if a := cfg.RecordingAnnouncement; a != "off" && a != "beep" && a != "" {
		if _, err := os.Stat(a); err != nil {
			return opts, fmt.Errorf("recording announcement %q: want off, beep or an Ogg Opus file: %w", a, err)
		}
	}
	if cfg.APIRateLimit, cfg.APIRateWindow, err = parseRate(apiRate); err != nil {
		return opts, fmt.Errorf("API rate limit %q: %w", apiRate, err)
	}
	if cfg.EventsHeartbeat, err = time.ParseDuration(heartbeat); err != nil || cfg.EventsHeartbeat < time.Second || cfg.EventsHeartbeat > 5*time.Minute {
		return opts, fmt.Errorf("events heartbeat %q: want a duration from 1s to 5m", heartbeat)
	}
	lim := &cfg.Limits
	if lim.WidgetRequests, lim.WidgetWindow, err = parseRate(widgetRate); err != nil {
		return opts, fmt.Errorf("widget rate limit %q: %w", widgetRate, err)
	}
	if lim.SMS, lim.SMSWindow, err = parseRate(smsRate); err != nil {
		return opts, fmt.Errorf("SMS rate limit %q: %w", smsRate, err)
	}
	for _, c := range []struct {
		dst        *int
		name, text string
	}{
		{&lim.StreamsPerSession, "max-streams-per-session", streamCap},
		{&lim.DevicesPerSession, "max-devices-per-session", deviceCap},
		{&lim.CallsPerDevice, "max-calls-per-device", deviceCallCap},
		{&lim.CallsPerExtension, "max-calls-per-extension", extensionCallCap},
		{&lim.SocketsPerExtension, "max-sockets-per-extension", socketCap},
	} {
		if *c.dst, err = strconv.Atoi(c.text); err != nil || *c.dst < 1 || *c.dst > 1_000_000 {
			return opts, fmt.Errorf("%s %q: want a whole number from 1 to 1000000", c.name, c.text)
		}
	}
	if fs.NArg() > 0 {
		return opts, fmt.Errorf("unexpected argument %q (commands: apps, accounts, extensions, trunks, phones)", fs.Arg(0))
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(level)); err != nil {
		return opts, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	if cfg.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(cfg.MetricsListen); err != nil {
			return opts, fmt.Errorf("metrics addr %q: want host:port such as 10.0.0.5:9464", cfg.MetricsListen)
		}
	}
	if err := server.CheckMetricsToken(cfg.MetricsToken); err != nil {
		return opts, err
	}
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		return opts, fmt.Errorf("log format %q: want text or json", cfg.LogFormat)
	}
	if memoryLimit != "" {
		if opts.memoryLimit, err = parseMemoryLimit(memoryLimit); err != nil {
			return opts, err
		}
	}
	cfg.CountryCode = strings.ToUpper(cfg.CountryCode)
	return opts, nil
}

// devFlag is --dev: "auto" or a boolean; a bare --dev means true.
type devFlag struct{ value string }

func (d *devFlag) String() string   { return d.value }
func (d *devFlag) IsBoolFlag() bool { return true }

func (d *devFlag) Set(v string) error {
	if _, err := server.ResolveDev(v, "", ""); err != nil {
		return err
	}
	d.value = v
	return nil
}

// parseRate reads COUNT/WINDOW ("60/10s"): at least one request per
// window of at least one second.
func parseRate(s string) (int, time.Duration, error) {
	count, window, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(strings.TrimSpace(count))
	if !ok || err != nil || n < 1 {
		return 0, 0, errors.New("want COUNT/WINDOW such as 60/10s, with COUNT at least 1")
	}
	d, err := time.ParseDuration(strings.TrimSpace(window))
	if err != nil || d < time.Second {
		return 0, 0, errors.New("want COUNT/WINDOW such as 60/10s, with WINDOW at least 1s")
	}
	return n, d, nil
}

// parseSIPListen reads --sip-listen ("[udp:|tcp:]host:port,…"; a bare
// address is UDP and TCP) and the TLS listener's flags into the user
// agent's listeners, one per transport.
func parseSIPListen(list, tlsAddr, cert, key string) ([]sip.Listen, error) {
	var out []sip.Listen
	seen := map[sip.Transport]bool{}
	add := func(t sip.Transport, addr string) error {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("sip listen %q: want [udp:|tcp:]host:port such as 0.0.0.0:5060", addr)
		}
		if seen[t] {
			return fmt.Errorf("sip listen: two %s addresses: one per transport", t)
		}
		seen[t] = true
		out = append(out, sip.Listen{Transport: t, Addr: addr})
		return nil
	}
	for _, item := range splitList(list) {
		var err error
		switch {
		case strings.HasPrefix(strings.ToLower(item), "udp:"):
			err = add(sip.UDP, item[4:])
		case strings.HasPrefix(strings.ToLower(item), "tcp:"):
			err = add(sip.TCP, item[4:])
		case strings.HasPrefix(strings.ToLower(item), "tls:"):
			err = errors.New("sip listen: give the TLS listener with --sip-tls-listen, --sip-tls-cert and --sip-tls-key")
		default:
			if err = add(sip.UDP, item); err == nil {
				err = add(sip.TCP, item)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	switch {
	case tlsAddr == "" && (cert != "" || key != ""):
		return nil, errors.New("sip tls: --sip-tls-cert and --sip-tls-key are for the listener of --sip-tls-listen")
	case tlsAddr == "":
		return out, nil
	case cert == "" || key == "":
		return nil, errors.New("sip tls listen: needs --sip-tls-cert and --sip-tls-key (PEM files)")
	}
	if _, _, err := net.SplitHostPort(tlsAddr); err != nil {
		return nil, fmt.Errorf("sip tls listen %q: want host:port such as 0.0.0.0:5061", tlsAddr)
	}
	return append(out, sip.Listen{Transport: sip.TLS, Addr: tlsAddr, CertFile: cert, KeyFile: key}), nil
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
