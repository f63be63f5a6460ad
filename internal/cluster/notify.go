package cluster

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go"

	"github.com/callbridge/widget-server/internal/webhooks"
)

// Notifications carries the subscriptions' notifications between nodes.
// A webhook subscription lives in the database: the node where an event
// happens queues its notification, once. A WebSocket subscription lives in
// the node that holds its socket: every node hears every event (core NATS,
// not kept: a socket that is away recovers what its own node buffered)
// and pushes it to its own sockets.
type Notifications struct {
	hooks   *webhooks.Service
	nc      *nats.Conn
	subject string
	sub     *nats.Subscription
	log     *slog.Logger
}

// wireEvent is a webhooks.Event on the wire; its bodies stay JSON.
type wireEvent struct {
	AccountID   int64           `json:"accountId,omitempty"`
	ExtensionID int64           `json:"extensionId"`
	Kind        string          `json:"kind"`
	Body        json.RawMessage `json:"body"`
	BriefBody   json.RawMessage `json:"briefBody,omitempty"`
	Sequence    uint64          `json:"sequence,omitempty"`
}

// NewNotifications makes this node push the other nodes' events to the
// WebSocket subscriptions of hooks.
func NewNotifications(nc *nats.Conn, hooks *webhooks.Service, log *slog.Logger) (*Notifications, error) {
	if log == nil {
		log = slog.Default()
	}
	n := &Notifications{hooks: hooks, nc: nc, subject: "callbridge.notify", log: log}
	sub, err := nc.Subscribe(n.subject, n.receive)
	if err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	n.sub = sub
	return n, nil
}

// Notify is webhooks.Service's Notify for a node: its webhooks here, the
// sockets on every node.
func (n *Notifications) Notify(ev webhooks.Event) {
	n.hooks.NotifyWebhooks(ev)
	w := wireEvent{AccountID: ev.AccountID, ExtensionID: ev.ExtensionID, Kind: ev.Kind, Sequence: ev.Sequence}
	var err error
	if w.Body, err = json.Marshal(ev.Body); err == nil && ev.BriefBody != nil {
		w.BriefBody, err = json.Marshal(ev.BriefBody)
	}
	data, err2 := json.Marshal(w)
	if err != nil || err2 != nil {
		n.log.Error("notification not encoded", slog.String("kind", ev.Kind), slog.Any("err", err))
		n.hooks.NotifySockets(ev)
		return
	}
	if err := n.nc.Publish(n.subject, data); err != nil {
		// The other nodes miss it; this node's sockets do not.
		n.log.Warn("notification not sent to the other nodes", slog.String("kind", ev.Kind), slog.Any("err", err))
		n.hooks.NotifySockets(ev)
	}
}

func (n *Notifications) receive(m *nats.Msg) {
	var w wireEvent
	if err := json.Unmarshal(m.Data, &w); err != nil {
		n.log.Warn("a notification from another node does not decode", slog.Any("err", err))
		return
	}
	ev := webhooks.Event{AccountID: w.AccountID, ExtensionID: w.ExtensionID, Kind: w.Kind, Body: w.Body, Sequence: w.Sequence}
	if len(w.BriefBody) > 0 && string(w.BriefBody) != "null" {
		ev.BriefBody = w.BriefBody
	}
	n.hooks.NotifySockets(ev)
}

// Close stops hearing the other nodes.
func (n *Notifications) Close() { n.sub.Unsubscribe() }
