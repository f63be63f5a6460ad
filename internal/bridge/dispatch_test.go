package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/telephony"
	"github.com/callbridge/widget-server/internal/webhooks"
)

// userPresences answers what users set; an extension in errs fails.
type userPresences struct {
	m    map[int64]presence.UserPresence
	errs map[int64]error
}

func (u userPresences) User(_ context.Context, ext int64) (presence.UserPresence, error) {
	if err := u.errs[ext]; err != nil {
		return presence.UserPresence{}, err
	}
	if p, ok := u.m[ext]; ok {
		return p, nil
	}
	return presence.DefaultUserPresence, nil
}

// sessions lists fixed sessions of every extension.
type sessions []telephony.Session

func (s sessions) Sessions(int64) []telephony.Session { return s }

// notifier records the notifications queued for webhook subscriptions.
type notifier struct {
	mu  sync.Mutex
	evs []webhooks.Event
}

func (n *notifier) Notify(ev webhooks.Event) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.evs = append(n.evs, ev)
}

func (n *notifier) take() []webhooks.Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	evs := n.evs
	n.evs = nil
	return evs
}

// dispatchRig is a dispatcher with a hub whose groups of Alice (1) and Bob
// (2) are listened to.
type dispatchRig struct {
	d     *Dispatcher
	hub   *Hub
	hooks *notifier
	subs  map[int64]*Subscription
}

func newDispatchRig(t *testing.T, up UserPresences, ss Sessions, withHooks bool) *dispatchRig {
	t.Helper()
	r := &dispatchRig{hub: NewHub(HubConfig{BufferSize: 1024}), hooks: &notifier{}, subs: map[int64]*Subscription{}}
	var hooks Notifier
	if withHooks {
		hooks = r.hooks
	}
	r.d = NewDispatcher(slog.New(slog.DiscardHandler), r.hub, up, ss, hooks)
	for _, ext := range []int64{1, 2} {
		sub, _, _, err := r.hub.Subscribe(ExtensionGroup(ext), "")
		if err != nil {
			t.Fatal(err)
		}
		r.subs[ext] = sub
	}
	t.Cleanup(r.hub.Shutdown)
	return r
}

// messages returns what the extension's widgets were sent so far.
func (r *dispatchRig) messages(t *testing.T, ext int64) []map[string]any {
	t.Helper()
	var out []map[string]any
	for {
		select {
		case evs := <-r.subs[ext].C:
			for _, ev := range evs {
				var m map[string]any
				if err := json.Unmarshal(ev.Data, &m); err != nil {
					t.Fatal(err)
				}
				out = append(out, m)
			}
		default:
			return out
		}
	}
}

func types(msgs []map[string]any) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, fmt.Sprint(m["type"]))
	}
	return out
}

// TestDispatchCallEvents: each switch event reaches its extension's group
// as the mapper's messages, in order, with the presence completed by what
// the user set; every telephony session message goes to the session
// subscriptions and every presence change, with the event's sequence, to
// the presence subscriptions.
func TestDispatchCallEvents(t *testing.T) {
	live := telephony.Session{ID: "s-9", SessionID: "4009", Created: t0, Parties: []telephony.Party{
		{ID: "p-x", Direction: telephony.Outbound, From: bob, To: busy, Status: telephony.StatusAnswered, Owner: 2},
	}}
	up := userPresences{m: map[int64]presence.UserPresence{2: {UserStatus: presence.Busy, DNDStatus: presence.DoNotAcceptAnyCalls}}}
	r := newDispatchRig(t, up, sessions{live}, true)
	mapper := NewCallMapper() // what the dispatcher's own mapper makes of the same script
	for _, ev := range callScript() {
		want := mapper.Messages(ev)
		r.d.CallEvent(ev)
		got := r.messages(t, ev.Extension)
		if len(got) != len(want) {
			t.Fatalf("%d %s: %v, want %d messages", ev.Extension, ev.Cause, types(got), len(want))
		}
		var wantHooks []string
		for i, env := range want {
			if got[i]["type"] != fmt.Sprint(mustJSON(t, env)["type"]) {
				t.Fatalf("%d %s: message %d is %v", ev.Extension, ev.Cause, i, got[i]["type"])
			}
			switch env.Message.(type) {
			case TelephonySessionNotify:
				wantHooks = append(wantHooks, webhooks.KindTelephonySessions)
			case SyncPresence:
				wantHooks = append(wantHooks, webhooks.KindPresence)
				user, dnd := "Available", "TakeAllCalls"
				if ev.Extension == 2 {
					user, dnd = "Busy", "DoNotAcceptAnyCalls"
				}
				if got[i]["userStatus"] != user || got[i]["dndStatus"] != dnd || got[i]["telephonyStatus"] != string(ev.Presence.TelephonyStatus) {
					t.Errorf("%d %s: presence %v", ev.Extension, ev.Cause, got[i])
				}
			}
		}
		var gotHooks []string
		for _, h := range r.hooks.take() {
			gotHooks = append(gotHooks, h.Kind)
			if h.ExtensionID != ev.Extension {
				t.Errorf("%d %s: notification for %d", ev.Extension, ev.Cause, h.ExtensionID)
			}
			switch h.Kind {
			case webhooks.KindTelephonySessions:
				if ts, ok := h.Body.(TelephonySession); !ok || ts.ID != ev.Session.ID || ts.Sequence != ev.Sequence {
					t.Errorf("%d %s: session notification %+v", ev.Extension, ev.Cause, h.Body)
				}
			case webhooks.KindPresence:
				checkPresenceNotification(t, h, ev, live)
			}
		}
		if !slices.Equal(gotHooks, wantHooks) {
			t.Errorf("%d %s: notifications %v, want %v", ev.Extension, ev.Cause, gotHooks, wantHooks)
		}
	}
}

// checkPresenceNotification: the detailed body lists the live calls and
// the one that just ended; the brief one only the statuses.
func checkPresenceNotification(t *testing.T, h webhooks.Event, ev telephony.Event, live telephony.Session) {
	t.Helper()
	body, ok := h.Body.(PresenceNotification)
	brief, _ := h.BriefBody.(PresenceNotification)
	if !ok || h.Sequence != ev.Sequence || body.Sequence != ev.Sequence || body.ActiveCalls == nil || brief.ActiveCalls != nil ||
		brief.Sequence != ev.Sequence || body.TelephonyStatus != string(ev.Presence.TelephonyStatus) {
		t.Fatalf("%d %s: presence notification %+v / %+v", ev.Extension, ev.Cause, h.Body, h.BriefBody)
	}
	var ids []string
	for _, c := range *body.ActiveCalls {
		ids = append(ids, c.ID)
	}
	want := []string{}
	if ev.Extension == 2 {
		want = append(want, "p-x") // the live call of the fixed sessions
	}
	p, _ := partyOf(ev.Session, ev.Extension)
	if p.Status == telephony.StatusDisconnected {
		want = append(want, p.ID)
	}
	if !slices.Equal(ids, want) && !(len(ids) == 0 && len(want) == 0) {
		t.Errorf("%d %s: active calls %v, want %v", ev.Extension, ev.Cause, ids, want)
	}
	if n := len(*body.ActiveCalls); p.Status == telephony.StatusDisconnected && (*body.ActiveCalls)[n-1].TelephonyStatus != "NoCall" {
		t.Errorf("%d %s: the ended call is %+v", ev.Extension, ev.Cause, (*body.ActiveCalls)[n-1])
	}
}

func mustJSON(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDispatchWithoutOptions: with no presence, sessions or webhooks the
// widgets still get every message, with the default user presence; a user
// presence that cannot be read is the default too.
func TestDispatchWithoutOptions(t *testing.T) {
	for _, tt := range []struct {
		name string
		up   UserPresences
	}{
		{"no presence", nil},
		{"presence fails", userPresences{errs: map[int64]error{1: errors.New("db down"), 2: errors.New("db down")}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newDispatchRig(t, tt.up, nil, false)
			for _, ev := range callScript() {
				r.d.CallEvent(ev)
				for _, m := range r.messages(t, ev.Extension) {
					if m["type"] == EventSyncPresence && (m["userStatus"] != "Available" || m["dndStatus"] != "TakeAllCalls") {
						t.Errorf("%d %s: presence %v", ev.Extension, ev.Cause, m)
					}
				}
			}
			r.d.PresenceEvent(presence.Event{Extension: 1, Sequence: 5, Changed: true,
				Presence: presence.Of(telephony.NoCall, presence.UserPresence{UserStatus: presence.Offline})})
			r.d.MessageEvent(messaging.Change{Message: messaging.Message{ID: "m1", ExtensionID: 1, Direction: messaging.Inbound}, New: true})
			if got := types(r.messages(t, 1)); !slices.Equal(got, []string{EventSyncPresence, EventMessageUpdated, EventInboundMessage}) {
				t.Fatalf("messages %v", got)
			}
			if len(r.hooks.take()) != 0 {
				t.Fatal("notified without webhooks")
			}
		})
	}
}

// TestDispatchPresenceEvents: a presence change its user made reaches the
// widgets every time, the presence subscriptions only when it changed.
func TestDispatchPresenceEvents(t *testing.T) {
	busyNow := presence.Of(telephony.CallConnected, presence.UserPresence{UserStatus: presence.Busy, DNDStatus: presence.TakeDepartmentCallsOnly})
	for _, tt := range []struct {
		name    string
		changed bool
		hooks   int
	}{
		{"changed", true, 1},
		{"set again", false, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newDispatchRig(t, nil, nil, true)
			r.d.PresenceEvent(presence.Event{Extension: 2, Sequence: 77, Presence: busyNow, Changed: tt.changed})
			got := r.messages(t, 2)
			want := map[string]any{"type": EventSyncPresence, "telephonyStatus": "CallConnected", "userStatus": "Busy",
				"dndStatus": "TakeDepartmentCallsOnly", "presenceStatus": "Busy"}
			if len(got) != 1 || fmt.Sprint(got[0]) != fmt.Sprint(want) {
				t.Fatalf("widgets got %v, want %v", got, want)
			}
			if msgs := r.messages(t, 1); len(msgs) != 0 {
				t.Fatalf("another extension got %v", msgs)
			}
			hooks := r.hooks.take()
			if len(hooks) != tt.hooks {
				t.Fatalf("notifications %+v", hooks)
			}
			if tt.hooks == 1 {
				h := hooks[0]
				body, _ := h.Body.(PresenceNotification)
				if h.Kind != webhooks.KindPresence || h.ExtensionID != 2 || h.Sequence != 77 || body.Sequence != 77 ||
					body.UserStatus != "Busy" || body.PresenceStatus != "Busy" || body.ActiveCalls == nil || len(*body.ActiveCalls) != 0 {
					t.Fatalf("notification %+v", h)
				}
			}
		})
	}
}

// TestDispatchMessageEvents: a message change reaches its extension's
// widgets (and an inbound copy that just arrived, as such) and its
// message-store subscriptions, with the account.
func TestDispatchMessageEvents(t *testing.T) {
	at := time.Date(2026, 5, 1, 9, 30, 0, 123e6, time.UTC)
	for _, tt := range []struct {
		name    string
		change  messaging.Change
		widgets []string
		newIDs  []string
		updated []string
	}{
		{"new inbound", messaging.Change{Message: messaging.Message{ID: "m1", AccountID: 7, ExtensionID: 2, Type: messaging.SMS,
			Direction: messaging.Inbound, LastModifiedTime: at}, New: true},
			[]string{EventMessageUpdated, EventInboundMessage}, []string{"m1"}, []string{}},
		{"new outbound", messaging.Change{Message: messaging.Message{ID: "m2", AccountID: 7, ExtensionID: 2, Type: messaging.SMS,
			Direction: messaging.Outbound, LastModifiedTime: at}, New: true},
			[]string{EventMessageUpdated}, []string{"m2"}, []string{}},
		{"read", messaging.Change{Message: messaging.Message{ID: "m1", AccountID: 7, ExtensionID: 2, Type: messaging.Pager,
			Direction: messaging.Inbound, LastModifiedTime: at}},
			[]string{EventMessageUpdated}, []string{}, []string{"m1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newDispatchRig(t, nil, nil, true)
			r.d.MessageEvent(tt.change)
			if got := types(r.messages(t, 2)); !slices.Equal(got, tt.widgets) {
				t.Fatalf("widgets got %v, want %v", got, tt.widgets)
			}
			hooks := r.hooks.take()
			if len(hooks) != 1 || hooks[0].Kind != webhooks.KindMessageStore || hooks[0].AccountID != 7 || hooks[0].ExtensionID != 2 {
				t.Fatalf("notifications %+v", hooks)
			}
			body := hooks[0].Body.(MessageStoreNotification)
			ch := body.Changes[0]
			if body.ExtensionID != 2 || body.LastUpdated != "2026-05-01T09:30:00.123Z" || len(body.Changes) != 1 ||
				ch.Type != string(tt.change.Message.Type) || !slices.Equal(ch.NewMessageIDs, tt.newIDs) ||
				!slices.Equal(ch.UpdatedMessageIDs, tt.updated) || ch.NewCount != len(tt.newIDs) || ch.UpdatedCount != len(tt.updated) {
				t.Fatalf("body %+v", body)
			}
		})
	}
}

// TestDispatcherSubscribes: subscribed to the switch's bus and a presence
// keeper, the dispatcher takes their events until it unsubscribes.
func TestDispatcherSubscribes(t *testing.T) {
	r := newDispatchRig(t, nil, nil, true)
	bus := telephony.NewBus()
	keeper := presence.New(presence.Config{}, nil)
	unsubscribe := r.d.Subscribe(bus, keeper)
	ev := callScript()[0]
	bus.Publish(ev)
	if err := keeper.Set(context.Background(), 1, presence.UserPresence{UserStatus: presence.Busy}); err != nil {
		t.Fatal(err)
	}
	got := types(r.messages(t, 1))
	if len(got) < 2 || got[0] != EventCallInit || got[len(got)-1] != EventSyncPresence {
		t.Fatalf("messages %v", got)
	}
	if len(r.hooks.take()) == 0 {
		t.Fatal("no notification")
	}
	unsubscribe()
	bus.Publish(ev)
	keeper.Set(context.Background(), 1, presence.UserPresence{UserStatus: presence.Offline})
	if got := r.messages(t, 1); len(got) != 0 || len(r.hooks.take()) != 0 {
		t.Fatalf("after unsubscribing: %v", got)
	}
}
