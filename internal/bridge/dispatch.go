package bridge

import (
	"context"
	"log/slog"
	"strconv"

	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/telephony"
	"github.com/callbridge/widget-server/internal/webhooks"
)

// SessionGroup is the hub group of a signed-out widget session's events.
func SessionGroup(sid string) string { return "session:" + sid }

// ExtensionGroup is the hub group of a signed-in extension's events: every
// tab of every session of the extension listens to it; messages meant for
// one device carry its id.
func ExtensionGroup(ext int64) string { return "ext:" + strconv.FormatInt(ext, 10) }

// UserPresences tells what users set of their presence (internal/presence
// implements it): a call event's presence joins it.
type UserPresences interface {
	User(ctx context.Context, extension int64) (presence.UserPresence, error)
}

// Sessions lists an extension's active sessions (the switch implements
// it): a presence notification lists its live calls.
type Sessions interface {
	Sessions(extension int64) []telephony.Session
}

// Notifier queues notifications for the matching webhook subscriptions
// (internal/webhooks implements it); it never blocks.
type Notifier interface {
	Notify(ev webhooks.Event)
}

// Dispatcher takes the domain events — the switch's, presence changes,
// message changes — to the widgets, through the hub, and to the webhook
// subscriptions. Its handlers run in the publishers' goroutines, outside
// their locks; they never block for long.
type Dispatcher struct {
	log      *slog.Logger
	hub      *Hub
	presence UserPresences // nil: call events carry the default user presence
	sessions Sessions      // nil: presence notifications list no live calls
	hooks    Notifier      // nil: webhook subscriptions are off
	calls    *CallMapper
	seq      Sequencer // nil: the events' own sequences
}

// Sequencer gives an extension's sequences across the nodes of a cluster
// (cluster.Sequences): above every one given before on any node, and at
// least the node's own.
type Sequencer interface {
	Next(extension int64, local uint64) uint64
}

// UseSequencer makes the dispatcher number each extension's events with
// s, before anyone sees them. Call it before the dispatcher gets events.
func (d *Dispatcher) UseSequencer(s Sequencer) { d.seq = s }

// sequence is the sequence ev goes out with.
func (d *Dispatcher) sequence(ext int64, local uint64) uint64 {
	if d.seq == nil || local == 0 {
		return local
	}
	return d.seq.Next(ext, local)
}

// NewDispatcher returns a dispatcher publishing to hub. presence, sessions
// and hooks may be nil (see Dispatcher).
func NewDispatcher(log *slog.Logger, hub *Hub, presence UserPresences, sessions Sessions, hooks Notifier) *Dispatcher {
	if log == nil {
		log = slog.Default()
	}
	return &Dispatcher{log: log, hub: hub, presence: presence, sessions: sessions, hooks: hooks, calls: NewCallMapper()}
}

// CallEvents is a bus of the switch's events (telephony.LocalBus).
type CallEvents interface {
	Subscribe(fn func(telephony.Event)) (unsubscribe func())
}

// PresenceEvents is a bus of presence changes (presence.Keeper).
type PresenceEvents interface {
	Subscribe(fn func(presence.Event)) (unsubscribe func())
}

// Subscribe makes the dispatcher take the events of both buses from now
// on; the returned func ends that. Message changes come through
// MessageEvent, which the messaging service calls.
func (d *Dispatcher) Subscribe(calls CallEvents, pres PresenceEvents) (unsubscribe func()) {
	stopCalls := calls.Subscribe(d.CallEvent)
	stopPresence := pres.Subscribe(d.PresenceEvent)
	return func() {
		stopCalls()
		stopPresence()
	}
}

// CallEvent hands one switch event to the widgets of its extension, as the
// rc-* messages the mapper makes of it, in order, and to the extension's
// webhook subscriptions (presence, telephony sessions). A Quiet event,
// of a call another node ended for everyone, is theirs already.
func (d *Dispatcher) CallEvent(ev telephony.Event) {
	if ev.Quiet {
		return
	}
	ev.Sequence = d.sequence(ev.Extension, ev.Sequence)
	envs := d.calls.Messages(ev)
	msgs := make([]any, len(envs))
	for i, env := range envs {
		envs[i] = d.withUserPresence(ev.Extension, env)
		msgs[i] = envs[i]
	}
	// One publication: each stream wakes and writes once for all of them.
	if _, err := d.hub.PublishAll(ExtensionGroup(ev.Extension), msgs); err != nil {
		d.log.Warn("call event not delivered", "extension", ev.Extension, "err", err)
	}
	if d.hooks == nil {
		return
	}
	for _, env := range envs {
		switch m := env.Message.(type) {
		case TelephonySessionNotify:
			d.hooks.Notify(webhooks.Event{ExtensionID: ev.Extension, Kind: webhooks.KindTelephonySessions, Body: m.TelephonySession})
		case SyncPresence:
			// The presence changed: its notification lists the live calls
			// and, when one just ended, the ended one with NoCall, as the
			// platform's presence events show the end of a call.
			var ended *PresenceCall
			for _, p := range ev.Session.Parties {
				if p.Owner == ev.Extension && p.Status == telephony.StatusDisconnected {
					c := PresenceCallOf(ev.Session, p)
					ended = &c
					break
				}
			}
			d.notifyPresence(ev.Extension, ev.Sequence, m, ended)
		}
	}
}

// withUserPresence completes the rc-adapter-syncPresence of a call event,
// which knows only the telephony status, with what the user set.
func (d *Dispatcher) withUserPresence(ext int64, env Envelope) Envelope {
	p, ok := env.Message.(SyncPresence)
	if !ok {
		return env
	}
	up := presence.DefaultUserPresence
	if d.presence != nil {
		var err error
		if up, err = d.presence.User(context.Background(), ext); err != nil {
			d.log.Warn("presence not loaded", slog.Int64("extension", ext), slog.Any("err", err))
			up = presence.DefaultUserPresence
		}
	}
	env.Message = NewSyncPresence(presence.Of(telephony.TelephonyStatus(p.TelephonyStatus), up))
	return env
}

// PresenceEvent hands a presence change its user made to the widgets of
// its extension (rc-adapter-syncPresence) and, when it changed what the
// user had, to the extension's presence subscriptions with its sequence.
func (d *Dispatcher) PresenceEvent(ev presence.Event) {
	sp := NewSyncPresence(ev.Presence)
	if _, err := d.hub.Publish(ExtensionGroup(ev.Extension), sp); err != nil {
		d.log.Warn("presence not pushed to the widget", slog.Int64("extension", ev.Extension), slog.Any("err", err))
	}
	if ev.Changed && d.hooks != nil {
		d.notifyPresence(ev.Extension, d.sequence(ev.Extension, ev.Sequence), sp, nil)
	}
}

// MessageEvent hands one change of a message copy to the widgets of its
// extension (rc-message-updated-notify, and rc-inbound-message-notify for a
// new inbound copy) and to the extension's message-store subscriptions.
// The messaging service reports each version of a copy once, so nothing
// here is published twice.
func (d *Dispatcher) MessageEvent(c messaging.Change) {
	ext := c.Message.ExtensionID
	for _, env := range MessageEvents(c) {
		if _, err := d.hub.Publish(ExtensionGroup(ext), env); err != nil {
			d.log.Warn("message event not delivered", "extension", ext, "message", c.Message.ID, "err", err)
		}
	}
	if d.hooks != nil {
		d.hooks.Notify(webhooks.Event{AccountID: c.Message.AccountID, ExtensionID: ext, Kind: webhooks.KindMessageStore,
			Body: NewMessageStoreNotification(c)})
	}
}

// notifyPresence tells the extension's presence subscriptions of its
// presence p with sequence seq: those with detailedTelephonyState get its
// live calls (and the ended one), the others the statuses alone.
func (d *Dispatcher) notifyPresence(ext int64, seq uint64, p SyncPresence, ended *PresenceCall) {
	var calls []PresenceCall
	if d.sessions != nil {
		calls = PresenceCalls(d.sessions.Sessions(ext), ext)
	} else {
		calls = []PresenceCall{}
	}
	if ended != nil {
		calls = append(calls, *ended)
	}
	body := PresenceNotification{ExtensionID: ext, TelephonyStatus: p.TelephonyStatus, ActiveCalls: &calls, Sequence: seq,
		UserStatus: p.UserStatus, DNDStatus: p.DNDStatus, PresenceStatus: p.PresenceStatus}
	brief := body
	brief.ActiveCalls = nil
	d.hooks.Notify(webhooks.Event{ExtensionID: ext, Kind: webhooks.KindPresence, Body: body, BriefBody: brief, Sequence: seq})
}
