package cluster

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
)

// Notes carries small notes between the nodes on one core NATS subject:
// what a node counts that the others must count too (the sign-in
// failures that slow password guessing, the SMS an extension sent). At
// most once, fire and forget: a note lost costs one count on one node,
// never a request.
type Notes struct {
	nc      *nats.Conn
	node    string
	subject string
	log     *slog.Logger
	sub     *nats.Subscription
}

// noteNode is the header that names a note's node: a node reads the
// others' notes, not its own.
const noteNode = "Callbridge-Node"

// NewNotes starts reading the notes of topic that the other nodes tell;
// read is given each, one at a time. It returns once the NATS server has
// the subscription: every note told after that is read.
func NewNotes(nc *nats.Conn, node, topic string, log *slog.Logger, read func(data []byte)) (*Notes, error) {
	if log == nil {
		log = slog.Default()
	}
	n := &Notes{nc: nc, node: node, subject: "callbridge.notes." + topic, log: log}
	sub, err := nc.Subscribe(n.subject, func(m *nats.Msg) {
		if m.Header.Get(noteNode) != node {
			read(m.Data)
		}
	})
	if err == nil {
		err = nc.FlushTimeout(10 * time.Second) // the server reads for this node from now on
	}
	if err != nil {
		if sub != nil {
			sub.Unsubscribe()
		}
		return nil, fmt.Errorf("notes %s: %w", topic, err)
	}
	n.sub = sub
	return n, nil
}

// Tell sends a note to the other nodes.
func (n *Notes) Tell(data []byte) {
	m := nats.NewMsg(n.subject)
	m.Header.Set(noteNode, n.node)
	m.Data = data
	if err := n.nc.PublishMsg(m); err != nil {
		n.log.Debug("cluster: a note not sent", slog.String("subject", n.subject), slog.Any("err", err))
	}
}

// Close stops reading the notes.
func (n *Notes) Close() { n.sub.Unsubscribe() }
