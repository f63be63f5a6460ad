package cluster

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Sequences hands out each extension's sequence (the order of its presence
// and call events, which consumers compare to keep the latest) across
// nodes: one counter per extension in a JetStream KV bucket, advanced by
// compare-and-set, so numbers are strictly increasing whichever node
// gives them. A node keeps the last value and revision it read or wrote of
// each counter: the compare-and-set is tried on that first, one round trip
// while no other node gives the extension's sequences, and the counter is
// read again only when the try fails.
type Sequences struct {
	kv      jetstream.KeyValue
	timeout time.Duration
	log     *slog.Logger

	mu   sync.Mutex
	seen map[string]counter // by key
}

// counter is a sequence counter's value at a revision.
type counter struct{ last, rev uint64 }

// NewSequences makes (or finds) the sequences bucket.
func NewSequences(ctx context.Context, nc *nats.Conn, log *slog.Logger) (*Sequences, error) {
	if log == nil {
		log = slog.Default()
	}
	kv, err := bucket(ctx, nc, "CALLBRIDGE_SEQUENCES", "sequences", "Callbridge: the last sequence of each extension")
	if err != nil {
		return nil, err
	}
	return &Sequences{kv: kv, timeout: 10 * time.Second, log: log, seen: map[string]counter{}}, nil
}

// bucket makes (or finds) the KV bucket name, kept in files, with the last
// value of each key; what names it in errors.
func bucket(ctx context.Context, nc *nats.Conn, name, what, description string) (jetstream.KeyValue, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: name, Description: description, Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("%s bucket: %w", what, err)
	}
	return kv, nil
}

// Next returns the extension's next sequence: above every one given
// before, on any node, and at least local (this node's own, time-based:
// sequences keep growing from those of a single node). When NATS cannot
// be reached it returns local.
func (q *Sequences) Next(extension int64, local uint64) uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), q.timeout)
	defer cancel()
	key := "ext." + strconv.FormatInt(extension, 10)
	q.mu.Lock()
	c, known := q.seen[key]
	q.mu.Unlock()
	for {
		if !known {
			e, err := q.kv.Get(ctx, key)
			switch {
			case err == nil:
				c = counter{rev: e.Revision()}
				if len(e.Value()) == 8 {
					c.last = binary.BigEndian.Uint64(e.Value())
				}
			case errors.Is(err, jetstream.ErrKeyNotFound):
				c = counter{}
			default:
				q.log.Warn("cluster: sequence not read; this node's own is used", slog.Int64("extension", extension), slog.Any("err", err))
				return local
			}
			known = true
		}
		next := max(c.last+1, local)
		v := binary.BigEndian.AppendUint64(nil, next)
		var rev uint64
		var err error
		if c.rev == 0 {
			rev, err = q.kv.Create(ctx, key, v)
		} else {
			rev, err = q.kv.Update(ctx, key, v, c.rev)
		}
		if err == nil {
			q.remember(key, counter{last: next, rev: rev})
			return next
		}
		if !errors.Is(err, jetstream.ErrKeyExists) || ctx.Err() != nil {
			q.forget(key)
			q.log.Warn("cluster: sequence not advanced; this node's own is used", slog.Int64("extension", extension), slog.Any("err", err))
			return local
		}
		// Another node advanced it since this one saw it: read it again.
		known = false
	}
}

// remember keeps c as key's counter, unless a later revision is kept.
func (q *Sequences) remember(key string, c counter) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if c.rev > q.seen[key].rev {
		q.seen[key] = c
	}
}

// forget drops key's counter: the next sequence reads it first.
func (q *Sequences) forget(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.seen, key)
}
