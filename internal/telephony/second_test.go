package telephony_test

import (
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/callbridge/widget-server/internal/telephony"
)

// partyOf returns the active party of the extension in the session now.
func partyOf(t *testing.T, r *rig, id string, owner int64) telephony.Party {
	t.Helper()
	s, ok := r.sw.Session(id)
	if !ok {
		t.Fatalf("session %s ended", id)
	}
	for _, p := range s.Parties {
		if p.Owner == owner && p.Status != telephony.StatusDisconnected {
			return p
		}
	}
	t.Fatalf("session %s has no party of %d: %+v", id, owner, s.Parties)
	return telephony.Party{}
}

// wantFlows checks what the gateway forwards now: exactly the pairs of
// legs given, each hearing the other; nothing to or from a held or
// departed party.
func wantFlows(t *testing.T, r *rig, pairs ...[2]string) {
	t.Helper()
	want := map[string]string{}
	for _, p := range pairs {
		want[p[0]], want[p[1]] = p[1], p[0]
	}
	if got := r.media.flows(); !maps.Equal(got, want) {
		t.Fatalf("audio flows %v, want %v", got, want)
	}
}

// legs is the pair of legs of a connected two-party session.
func legs(s telephony.Session) [2]string { return [2]string{s.Parties[0].ID, s.Parties[1].ID} }

func wantStatus(t *testing.T, r *rig, id string, owner int64, want telephony.PartyStatus) {
	t.Helper()
	if got := partyOf(t, r, id, owner).Status; got != want {
		t.Fatalf("party of %d in %s: %s, want %s", owner, id, got, want)
	}
}

func wantCause(t *testing.T, r *rig, ext int64, id string, cause telephony.Cause) telephony.Event {
	t.Helper()
	return r.bus.waitFor(t, func(e telephony.Event) bool {
		return e.Extension == ext && e.Session.ID == id && e.Cause == cause
	})
}

// TestSecondCall: dialling while a call is live holds it for the new call,
// which resumes it when it fails or ends, unless the user held it before.
func TestSecondCall(t *testing.T) {
	ctx := context.Background()
	t.Run("held, then resumed when the second ends", func(t *testing.T) {
		r := newRig(t)
		first := r.connected(t)
		wantFlows(t, r, legs(first))
		r.bus.take()
		second := r.dial(t, "a1", "103")
		wantStatus(t, r, first.ID, alice, telephony.StatusHold)
		if got := causes(r.bus.take()); len(got) < 3 || got[0] != "101:hold" || got[1] != "102:hold" || got[2] != "101:dial" {
			t.Fatalf("events %v, want hold for both, then dial", got)
		}
		wantFlows(t, r)
		second, _, err := r.sw.Answer(ctx, "c1", second.ID, "offer-c1")
		if err != nil {
			t.Fatal(err)
		}
		wantFlows(t, r, legs(second))
		if err := r.sw.Hangup(ctx, "c1", second.ID); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, r, first.ID, alice, telephony.StatusAnswered)
		wantCause(t, r, bob, first.ID, telephony.CauseUnhold)
		wantFlows(t, r, legs(first))
	})
	for _, tc := range []struct{ name, to string }{
		{"invalid number", "+15550104"},
		{"unroutable", "999"},
		{"busy", "+15550102"},
		{"no answer", "+15550107"},
	} {
		t.Run("resumed when the second fails: "+tc.name, func(t *testing.T) {
			r := newRig(t)
			first := r.connected(t)
			second := r.dial(t, "a1", tc.to)
			telephony.FireTimers(r.sw, second.ID)
			wantCause(t, r, alice, first.ID, telephony.CauseUnhold)
			wantStatus(t, r, first.ID, alice, telephony.StatusAnswered)
			wantFlows(t, r, legs(first))
		})
	}
	t.Run("resumed when the dial is refused", func(t *testing.T) {
		r := newRig(t)
		first := r.connected(t)
		r.media.mu.Lock()
		r.media.openErr = errors.New("no leg")
		r.media.mu.Unlock()
		if _, _, err := r.sw.Dial(ctx, "a1", "103", "offer"); err == nil {
			t.Fatal("dial with a failing leg succeeded")
		}
		wantStatus(t, r, first.ID, alice, telephony.StatusAnswered)
		wantFlows(t, r, legs(first))
	})
	t.Run("held by the user before stays held", func(t *testing.T) {
		r := newRig(t)
		first := r.connected(t)
		if err := r.sw.Hold(ctx, "a1", first.ID); err != nil {
			t.Fatal(err)
		}
		second := r.dial(t, "a1", "103")
		if _, _, err := r.sw.Answer(ctx, "c1", second.ID, "offer-c1"); err != nil {
			t.Fatal(err)
		}
		if err := r.sw.Hangup(ctx, "a1", second.ID); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, r, first.ID, alice, telephony.StatusHold)
		wantFlows(t, r)
	})
	t.Run("switch and unhold keep one live call", func(t *testing.T) {
		r := newRig(t)
		first := r.connected(t)
		second := r.dial(t, "a1", "103")
		second, _, _ = r.sw.Answer(ctx, "c1", second.ID, "offer-c1")
		if err := r.sw.SwitchCall(ctx, "a1", second.ID); !errors.Is(err, telephony.ErrInvalidState) {
			t.Fatalf("switch to the live call: %v", err)
		}
		if err := r.sw.SwitchCall(ctx, "a1", first.ID); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, r, first.ID, alice, telephony.StatusAnswered)
		wantStatus(t, r, second.ID, alice, telephony.StatusHold)
		wantFlows(t, r, legs(first))
		if err := r.sw.Unhold(ctx, "a1", second.ID); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, r, first.ID, alice, telephony.StatusHold)
		wantStatus(t, r, second.ID, alice, telephony.StatusAnswered)
		wantFlows(t, r, legs(second))
		// Held by a switch, the first stays held when the second ends.
		if err := r.sw.Hangup(ctx, "c1", second.ID); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, r, first.ID, alice, telephony.StatusHold)
		wantFlows(t, r)
	})
	t.Run("both calls end", func(t *testing.T) {
		r := newRig(t)
		first := r.connected(t)
		second := r.dial(t, "a1", "103")
		second, _, _ = r.sw.Answer(ctx, "c1", second.ID, "offer-c1")
		if err := r.sw.Hangup(ctx, "b1", first.ID); err != nil { // the held call ends
			t.Fatal(err)
		}
		wantFlows(t, r, legs(second))
		if err := r.sw.Hangup(ctx, "a1", second.ID); err != nil {
			t.Fatal(err)
		}
		if n := len(r.sw.Sessions(alice)); n != 0 {
			t.Fatalf("%d sessions left", n)
		}
		wantFlows(t, r)
		r.log.wait(t, 4)
	})
}

// TestAnswerSecondCall: answering while a call is live holds or ends it
// first; ignoring stops one device ringing.
func TestAnswerSecondCall(t *testing.T) {
	ctx := context.Background()
	t.Run("hold and answer", func(t *testing.T) {
		r := newRig(t)
		first := r.connected(t)
		second := r.dial(t, "c1", "102")
		second, _, err := r.sw.AnswerWith(ctx, "b1", second.ID, "offer-b1", telephony.AnswerOptions{Action: telephony.AnswerHold})
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, r, first.ID, bob, telephony.StatusHold)
		wantFlows(t, r, legs(second))
		if err := r.sw.Hangup(ctx, "c1", second.ID); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, r, first.ID, bob, telephony.StatusAnswered)
		wantFlows(t, r, legs(first))
	})
	t.Run("end and answer", func(t *testing.T) {
		r := newRig(t)
		first := r.connected(t)
		second := r.dial(t, "c1", "102")
		second, _, err := r.sw.AnswerWith(ctx, "b1", second.ID, "offer-b1", telephony.AnswerOptions{Action: telephony.AnswerEnd})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := r.sw.Session(first.ID); ok {
			t.Fatal("the first call goes on")
		}
		wantFlows(t, r, legs(second))
		recs := r.log.wait(t, 2)
		for _, rec := range recs {
			if rec.Result != telephony.ResultConnected {
				t.Fatalf("record %+v, want Call connected", rec)
			}
		}
	})
	t.Run("answer fails: the first resumes", func(t *testing.T) {
		r := newRig(t)
		first := r.connected(t)
		second := r.dial(t, "c1", "102")
		if _, _, err := r.sw.Answer(ctx, "b1", second.ID, ""); err == nil { // the fake refuses an empty offer
			t.Fatal("answer with no offer succeeded")
		}
		wantStatus(t, r, first.ID, bob, telephony.StatusAnswered)
		wantFlows(t, r, legs(first))
	})
	t.Run("unknown action", func(t *testing.T) {
		r := newRig(t)
		s := r.dial(t, "c1", "102")
		if _, _, err := r.sw.AnswerWith(ctx, "b1", s.ID, "o", telephony.AnswerOptions{Action: "park"}); !errors.Is(err, telephony.ErrInvalidState) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ignore", func(t *testing.T) {
		r := newRig(t)
		s := r.dial(t, "c1", "102")
		r.bus.take()
		if err := r.sw.Ignore(ctx, "b1", s.ID); err != nil {
			t.Fatal(err)
		}
		e := wantCause(t, r, bob, s.ID, telephony.CauseIgnore)
		if p, _ := e.Session.Party(s.Parties[1].ID); len(p.Ringing) != 1 || p.Ringing[0] != "b2" || e.Device != "b1" {
			t.Fatalf("after ignore: ringing %v, device %q", p.Ringing, e.Device)
		}
		if err := r.sw.Ignore(ctx, "b1", s.ID); err == nil {
			t.Fatal("ignored twice")
		}
		if err := r.sw.Ignore(ctx, "c1", s.ID); !errors.Is(err, telephony.ErrInvalidState) {
			t.Fatalf("caller ignores: %v", err)
		}
		if err := r.sw.Ignore(ctx, "b2", s.ID); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, r, s.ID, carol, telephony.StatusProceeding) // no device rings; the caller still hears it ring
		telephony.FireTimers(r.sw, s.ID)
		e = wantCause(t, r, carol, s.ID, telephony.CauseTimeout)
		if e.Session.Parties[0].Result != telephony.ResultNoAnswer {
			t.Fatalf("caller result %s", e.Session.Parties[0].Result)
		}
	})
}
