package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/cluster"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/ratelimit"
	"github.com/callbridge/widget-server/internal/telephony"
)

// clusterNode is this server's part in a cluster.
type clusterNode struct {
	name   string
	nc     *nats.Conn
	events *cluster.Events        // nil until joinEvents
	calls  *cluster.Calls         // nil until joinCalls
	users  *cluster.UserPresences // nil until joinCalls
	notes  []*cluster.Notes       // shareLimits'
	log    *slog.Logger
}

// connectCluster connects this node to NATS.
func connectCluster(url string, log *slog.Logger) (*clusterNode, error) {
	host, _ := os.Hostname()
	name := host + "/" + strconv.Itoa(os.Getpid()) + "/" + strconv.FormatInt(time.Now().UnixNano(), 36)
	nc, err := cluster.Connect(url, name, log)
	if err != nil {
		return nil, err
	}
	return &clusterNode{name: name, nc: nc, log: log}, nil
}

// trunkLeases lets one node at a time register each SIP trunk.
func (n *clusterNode) trunkLeases(ctx context.Context) (*cluster.TrunkLeases, error) {
	return cluster.NewTrunkLeases(ctx, n.nc, n.name, cluster.TrunkLeasesConfig{Log: n.log})
}

// joinEvents makes hub a node of the cluster's events.
func (n *clusterNode) joinEvents(ctx context.Context, hub *bridge.Hub) error {
	events, err := cluster.NewEvents(ctx, n.nc, cluster.EventsConfig{Log: n.log})
	if err == nil {
		err = events.Join(ctx, hub)
	}
	if err != nil {
		return err
	}
	n.events = events
	n.log.Info("cluster: joined", slog.String("node", n.name), slog.String("events", events.Epoch()))
	return nil
}

// joinCalls makes sw this node's switch in the cluster (cluster.Calls).
// onLost is given each call of a lost node that this node ends; phones
// the events of other nodes' calls for this node's desk phones.
// The presence keeper pres then counts every node's calls, and what users
// set through any node decides here which calls ring.
func (n *clusterNode) joinCalls(ctx context.Context, sw *telephony.Switch, bus cluster.CallEvents, pres *presence.Keeper,
	onLost func(cluster.LostCall), phones func(telephony.Event)) (*cluster.Calls, error) {
	users, err := cluster.ShareUserPresences(ctx, n.nc, n.name, pres, n.log)
	if err != nil {
		return nil, err
	}
	n.users = users
	calls, err := cluster.NewCalls(ctx, n.nc, n.name, sw, bus, cluster.CallsConfig{Log: n.log, OnLost: onLost, OnDeviceEvent: phones})
	if err != nil {
		return nil, err
	}
	n.calls = calls
	pres.CountCallsElsewhere(calls.PartyStates)
	return calls, nil
}

// signInNote is a sign-in outcome another node counted (identity.Throttle).
type signInNote struct {
	Failure bool   `json:"failure"`
	User    string `json:"user"`
	Addr    string `json:"addr"`
}

// shareLimits makes the limits that must hold for the whole cluster count
// what every node counts: the sign-in throttle (a guesser gets no more
// tries by spreading them across the nodes) and the SMS an extension sends
// from the widget. The request rate limits stay per node.
func (n *clusterNode) shareLimits(throttle *identity.Throttle, sms *ratelimit.Limiter[int64]) error {
	signIns, err := cluster.NewNotes(n.nc, n.name, "signin", n.log, func(data []byte) {
		var note signInNote
		if json.Unmarshal(data, &note) == nil {
			throttle.Apply(note.Failure, note.User, note.Addr)
		}
	})
	if err != nil {
		return err
	}
	n.notes = append(n.notes, signIns)
	throttle.ShareWith(func(failure bool, user, addr string) {
		data, _ := json.Marshal(signInNote{Failure: failure, User: user, Addr: addr})
		signIns.Tell(data)
	})
	texts, err := cluster.NewNotes(n.nc, n.name, "sms", n.log, func(data []byte) {
		if ext, err := strconv.ParseInt(string(data), 10, 64); err == nil {
			sms.Spend(ext)
		}
	})
	if err != nil {
		return err
	}
	n.notes = append(n.notes, texts)
	sms.ShareWith(func(ext int64) { texts.Tell([]byte(strconv.FormatInt(ext, 10))) })
	return nil
}

// check is the readiness of the node's NATS connection.
func (n *clusterNode) check(context.Context) error {
	if st := n.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("nats: %s", st)
	}
	return nil
}

// leave ends the node's part, after what the hub still publishes has gone
// out.
func (n *clusterNode) leave() {
	if n.calls != nil {
		n.calls.Close()
	}
	if n.users != nil {
		n.users.Close()
	}
	for _, notes := range n.notes {
		notes.Close()
	}
	if n.events != nil {
		n.events.Stop()
	}
	if err := n.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		n.log.Warn("nats: drain", slog.Any("err", err))
	}
}

// endLostCall tells the widgets still in a call of a lost node that it
// ended, and writes its call-log records: what the node would have done.
func endLostCall(lc cluster.LostCall, dispatch *bridge.Dispatcher, pres *presence.Keeper, callLog telephony.CallLog, log *slog.Logger) {
	var seen []int64
	for _, p := range lc.Session.Parties {
		if p.Owner == 0 || slices.Contains(seen, p.Owner) {
			continue
		}
		seen = append(seen, p.Owner)
		presence, seq := pres.Telephony(p.Owner)
		dispatch.CallEvent(telephony.Event{Extension: p.Owner, Sequence: seq, Session: lc.Session, Presence: presence,
			Cause: telephony.CauseFailed, Device: p.Device})
	}
	if len(lc.Records) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := callLog.AddCallRecords(ctx, lc.Records); err != nil {
		log.Error("cluster: the call log of a lost call not written", slog.String("telephonySessionId", lc.Session.ID), slog.Any("err", err))
	}
}
