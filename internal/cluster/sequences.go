package cluster

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Sequences hands out each extension's sequence (the order of its presence
// and call events, which consumers compare to keep the latest) across
// nodes: one counter per extension in a JetStream KV bucket, advanced by
// compare-and-set, so numbers are strictly increasing whichever node
// gives them.
type Sequences struct {
	kv      jetstream.KeyValue
	timeout time.Duration
	log     *slog.Logger
}

// NewSequences makes (or finds) the sequences bucket.
func NewSequences(ctx context.Context, nc *nats.Conn, log *slog.Logger) (*Sequences, error) {
	if log == nil {
		log = slog.Default()
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      "CALLBRIDGE_SEQUENCES",
		Description: "Callbridge: the last sequence of each extension",
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("sequences bucket: %w", err)
	}
	return &Sequences{kv: kv, timeout: 10 * time.Second, log: log}, nil
}

// Next returns the extension's next sequence: above every one given
// before, on any node, and at least local (this node's own, time-based:
// sequences keep growing from those of a single node). When NATS cannot
// be reached it returns local.
func (q *Sequences) Next(extension int64, local uint64) uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), q.timeout)
	defer cancel()
	key := "ext." + strconv.FormatInt(extension, 10)
	for {
		var last, rev uint64
		e, err := q.kv.Get(ctx, key)
		switch {
		case err == nil:
			if len(e.Value()) == 8 {
				last = binary.BigEndian.Uint64(e.Value())
			}
			rev = e.Revision()
		case errors.Is(err, jetstream.ErrKeyNotFound):
		default:
			q.log.Warn("cluster: sequence not read; this node's own is used", slog.Int64("extension", extension), slog.Any("err", err))
			return local
		}
		next := max(last+1, local)
		v := binary.BigEndian.AppendUint64(nil, next)
		if rev == 0 {
			_, err = q.kv.Create(ctx, key, v)
		} else {
			_, err = q.kv.Update(ctx, key, v, rev)
		}
		if err == nil {
			return next
		}
		if !errors.Is(err, jetstream.ErrKeyExists) || ctx.Err() != nil {
			q.log.Warn("cluster: sequence not advanced; this node's own is used", slog.Int64("extension", extension), slog.Any("err", err))
			return local
		}
		// Another node advanced it first: read it again.
	}
}
