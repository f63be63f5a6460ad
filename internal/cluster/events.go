// Package cluster joins the nodes of a multi-node deployment through NATS
// JetStream: the widgets' events (a bridge.Relay), who owns what, the
// presence users set (presence.go), and which node registers each SIP
// trunk (trunks.go). It knows nothing of HTTP or media.
package cluster

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Connect opens the node's connection to the NATS servers in url (a comma
// separated list of nats:// URLs). It reconnects without end: a node
// whose NATS is away for a while keeps its calls and catches up after.
func Connect(url, node string, log *slog.Logger) (*nats.Conn, error) {
	if log == nil {
		log = slog.Default()
	}
	nc, err := nats.Connect(url,
		nats.Name("callbridge "+node),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("nats: disconnected", slog.Any("err", err))
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info("nats: reconnected", slog.String("server", c.ConnectedUrlRedacted()))
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("nats %s: %w", redact(url), err)
	}
	return nc, nil
}

// redact is a NATS URL list without passwords or tokens, for logs and
// errors.
func redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if at := strings.LastIndex(p, "@"); at >= 0 {
			if scheme := strings.Index(p, "://"); scheme >= 0 && scheme < at {
				parts[i] = p[:scheme+3] + "xxxxx" + p[at:]
			}
		}
	}
	return strings.Join(parts, ",")
}

// EventsConfig shapes the events stream.
type EventsConfig struct {
	// Stream is the JetStream stream's name (default CALLBRIDGE_EVENTS);
	// its subjects are Subject.>.
	Stream  string
	Subject string // default "callbridge.events"
	// MaxAge is how long a publication stays replayable (default 1 h): a
	// widget away for longer reloads its state.
	MaxAge time.Duration
	// MaxBytes bounds the stream (default 1 GiB); the oldest publications
	// go first.
	MaxBytes int64
	// Replicas is the stream's copies in a NATS cluster (default 1; 3 for
	// a cluster that must survive a NATS server's loss).
	Replicas int
	Log      *slog.Logger
}

func (c EventsConfig) withDefaults() EventsConfig {
	if c.Stream == "" {
		c.Stream = "CALLBRIDGE_EVENTS"
	}
	if c.Subject == "" {
		c.Subject = "callbridge.events"
	}
	if c.MaxAge <= 0 {
		c.MaxAge = time.Hour
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 1 << 30
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// Events is the widgets' events of every node in one JetStream stream, a
// subject per hub group: it implements bridge.Relay. Each publication is
// one message, the JSON array of its events; its stream sequence is its
// place in every node's order.
type Events struct {
	cfg    EventsConfig
	js     jetstream.JetStream
	stream jetstream.Stream
	epoch  string

	mu   sync.Mutex
	cons jetstream.ConsumeContext
}

// NewEvents makes (or finds) the events stream.
func NewEvents(ctx context.Context, nc *nats.Conn, cfg EventsConfig) (*Events, error) {
	cfg = cfg.withDefaults()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	stream, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        cfg.Stream,
		Description: "Callbridge: the widgets' events, a subject per extension or signed-out session",
		Subjects:    []string{cfg.Subject + ".>"},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      cfg.MaxAge,
		MaxBytes:    cfg.MaxBytes,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
		AllowDirect: true,
	})
	if err != nil {
		return nil, fmt.Errorf("events stream %s: %w", cfg.Stream, err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("events stream %s: %w", cfg.Stream, err)
	}
	return &Events{cfg: cfg, js: js, stream: stream, epoch: strconv.FormatInt(info.Created.UnixNano(), 36)}, nil
}

// Epoch names the stream: the time it was made.
func (e *Events) Epoch() string { return e.epoch }

// subject is the group's subject. A group key is "kind:value"; a value of
// other characters than a subject token may hold is hex-encoded.
func (e *Events) subject(key string) string {
	kind, value, _ := strings.Cut(key, ":")
	if !token(kind) {
		kind = "x" + hex.EncodeToString([]byte(kind))
	}
	if !token(value) {
		value = "x" + hex.EncodeToString([]byte(value))
	}
	return e.cfg.Subject + "." + kind + "." + value
}

// key is subject's inverse.
func (e *Events) key(subject string) (string, bool) {
	rest, ok := strings.CutPrefix(subject, e.cfg.Subject+".")
	if !ok {
		return "", false
	}
	kind, value, ok := strings.Cut(rest, ".")
	if !ok {
		return "", false
	}
	dec := func(s string) (string, bool) {
		if h, ok := strings.CutPrefix(s, "x"); ok {
			b, err := hex.DecodeString(h)
			return string(b), err == nil
		}
		return s, true
	}
	kind, ok1 := dec(kind)
	value, ok2 := dec(value)
	return kind + ":" + value, ok1 && ok2
}

// token reports whether s can be a subject token as it is: letters,
// digits, '-' and '_', not starting with x (kept for encoded values).
func token(s string) bool {
	if s == "" || s[0] == 'x' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Append stores one publication of a group.
func (e *Events) Append(key string, events [][]byte) (uint64, error) {
	raw := make([]json.RawMessage, len(events))
	for i, ev := range events {
		raw[i] = ev
	}
	data, err := json.Marshal(raw)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := e.js.Publish(ctx, e.subject(key), data)
	if err != nil {
		return 0, fmt.Errorf("events stream: %w", err)
	}
	return ack.Sequence, nil
}

// Since reads the group's publications in (after, upto].
func (e *Events) Since(ctx context.Context, key string, after, upto uint64, each func(seq uint64, events [][]byte)) (bool, error) {
	info, err := e.stream.Info(ctx)
	if err != nil {
		return false, err
	}
	complete := after+1 >= info.State.FirstSeq
	subject := e.subject(key)
	for seq := after + 1; seq <= upto; {
		msg, err := e.stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return false, err
		}
		if msg.Sequence > upto {
			break
		}
		events, err := decode(msg.Data)
		if err != nil {
			e.cfg.Log.Warn("events stream: a publication that does not decode", slog.Uint64("seq", msg.Sequence), slog.Any("err", err))
		} else {
			each(msg.Sequence, events)
		}
		seq = msg.Sequence + 1
	}
	return complete, nil
}

func decode(data []byte) ([][]byte, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	events := make([][]byte, len(raw))
	for i, r := range raw {
		events[i] = r
	}
	return events, nil
}

// Hub is what Join feeds: a node's bridge.Hub.
type Hub interface {
	UseRelay(r bridge.Relay, applied uint64)
	Deliver(key string, seq uint64, events [][]byte)
}

// Join makes hub a node of the cluster: its publications go to the stream,
// and it is handed every publication after the stream's last one now, in
// the stream's order, without gaps or repeats (an ordered consumer, which
// starts again where it was after NATS comes back). Stop ends it.
func (e *Events) Join(ctx context.Context, hub Hub) error {
	info, err := e.stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("events stream: %w", err)
	}
	last := info.State.LastSeq
	hub.UseRelay(e, last)
	cons, err := e.js.OrderedConsumer(ctx, e.cfg.Stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{e.cfg.Subject + ".>"},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    last + 1,
	})
	if err != nil {
		return fmt.Errorf("events stream: follow: %w", err)
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		meta, err := msg.Metadata()
		if err != nil {
			return
		}
		key, ok := e.key(msg.Subject())
		if !ok {
			return
		}
		events, err := decode(msg.Data())
		if err != nil {
			e.cfg.Log.Warn("events stream: a publication that does not decode", slog.Uint64("seq", meta.Sequence.Stream), slog.Any("err", err))
			events = nil
		}
		hub.Deliver(key, meta.Sequence.Stream, events)
	})
	if err != nil {
		return fmt.Errorf("events stream: follow: %w", err)
	}
	e.mu.Lock()
	e.cons = cc
	e.mu.Unlock()
	return nil
}

// Stop ends Join's following.
func (e *Events) Stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cons != nil {
		e.cons.Stop()
		e.cons = nil
	}
}
