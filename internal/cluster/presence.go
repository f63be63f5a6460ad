package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/callbridge/widget-server/internal/presence"
)

// Presence across nodes. A user's presence is set through one node, which
// stores it and publishes its event; do-not-disturb must then decide on
// every node which calls ring. Each presence set is put in a JetStream KV
// bucket, a key per extension, and every node's keeper learns the
// bucket's entries as they change. The bucket only carries the changes:
// the store keeps them across restarts. (The telephony status counts the
// calls of every node through Calls.PartyStates.)

// UserPresences shares what users set between the nodes' keepers.
type UserPresences struct {
	kv      jetstream.KeyValue
	w       jetstream.KeyWatcher
	node    string
	keeper  *presence.Keeper
	log     *slog.Logger
	timeout time.Duration
	wg      sync.WaitGroup
}

// userPresenceEntry is an extension's value in the bucket.
type userPresenceEntry struct {
	Node       string `json:"node"` // the node it was set through
	UserStatus string `json:"userStatus"`
	DNDStatus  string `json:"dndStatus"`
}

// ShareUserPresences makes keeper, node's, share what users set with the
// other nodes' keepers: it learns at once what was set through them, then
// every change.
func ShareUserPresences(ctx context.Context, nc *nats.Conn, node string, keeper *presence.Keeper, log *slog.Logger) (*UserPresences, error) {
	if log == nil {
		log = slog.Default()
	}
	kv, err := bucket(ctx, nc, "CALLBRIDGE_PRESENCE", "presence", "Callbridge: the presence users set, as it changes")
	if err != nil {
		return nil, err
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("presence bucket: watch: %w", err)
	}
	u := &UserPresences{kv: kv, w: w, node: node, keeper: keeper, log: log, timeout: 10 * time.Second}
	// What was set before this node started is learned before it takes a
	// call: the watch's initial values end with a nil entry.
	for e := range w.Updates() {
		if e == nil {
			break
		}
		u.learn(e)
	}
	u.wg.Go(func() {
		for e := range w.Updates() {
			if e != nil {
				u.learn(e)
			}
		}
	})
	keeper.ShareUserPresence(u.share)
	return u, nil
}

// Close stops learning the other nodes' changes.
func (u *UserPresences) Close() {
	u.w.Stop()
	u.wg.Wait()
}

// learn applies an entry another node put.
func (u *UserPresences) learn(e jetstream.KeyValueEntry) {
	ext, err := strconv.ParseInt(e.Key(), 10, 64)
	if err != nil || e.Operation() != jetstream.KeyValuePut {
		return
	}
	var v userPresenceEntry
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		u.log.Warn("cluster: a presence entry not understood", slog.Int64("extensionId", ext), slog.Any("err", err))
		return
	}
	if v.Node == u.node { // this node's keeper has it, and maybe a later one
		return
	}
	u.keeper.Learn(ext, presence.UserPresence{UserStatus: v.UserStatus, DNDStatus: v.DNDStatus})
}

// share puts what a user set through this node.
func (u *UserPresences) share(ext int64, up presence.UserPresence) {
	v, _ := json.Marshal(userPresenceEntry{Node: u.node, UserStatus: up.UserStatus, DNDStatus: up.DNDStatus})
	ctx, cancel := context.WithTimeout(context.Background(), u.timeout)
	defer cancel()
	if _, err := u.kv.Put(ctx, strconv.FormatInt(ext, 10), v); err != nil {
		u.log.Warn("cluster: a presence set not shared with the other nodes", slog.Int64("extensionId", ext), slog.Any("err", err))
	}
}
