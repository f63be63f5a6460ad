package telephony_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/callbridge/widget-server/internal/telephony"
)

// merged returns Alice's conference with Bob and Carol: Alice calls Bob
// (answered on b1), then Carol (Bob held for it; answered on c1), and
// merges Bob's call into Carol's, which anchors it.
func merged(t *testing.T, r *rig) (cf telephony.Conference, withBob, withCarol telephony.Session) {
	t.Helper()
	withBob = r.connected(t)
	withCarol = r.dial(t, "a1", "103")
	withCarol, _, err := r.sw.Answer(context.Background(), "c1", withCarol.ID, "offer-c1")
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, r, withBob.ID, alice, telephony.StatusHold)
	cf, err = r.sw.Merge(context.Background(), "a1", withCarol.ID, withBob.ID)
	if err != nil {
		t.Fatalf("merge: %v", err)
	}
	return cf, withBob, withCarol
}

// wantMix checks the conference's mix: each leg, whether it speaks and
// whether it hears.
func wantMix(t *testing.T, r *rig, id string, want ...telephony.MixMember) {
	t.Helper()
	got := r.media.mix(id)
	sortMix := func(m []telephony.MixMember) {
		slices.SortFunc(m, func(a, b telephony.MixMember) int {
			if a.Leg < b.Leg {
				return -1
			}
			if a.Leg > b.Leg {
				return 1
			}
			return 0
		})
	}
	sortMix(got)
	sortMix(want)
	if !slices.Equal(got, want) {
		t.Fatalf("mix %v, want %v", got, want)
	}
}

func live(leg string) telephony.MixMember {
	return telephony.MixMember{Leg: leg, Speak: true, Listen: true}
}

// wantConference waits for ext's event of cause and returns its conference.
func wantConference(t *testing.T, r *rig, ext int64, cause telephony.Cause) telephony.Conference {
	t.Helper()
	e := r.bus.waitFor(t, func(e telephony.Event) bool {
		return e.Extension == ext && e.Cause == cause && e.Conference != nil
	})
	return *e.Conference
}

func participantIDs(cf telephony.Conference) []string {
	var out []string
	for _, p := range cf.Participants {
		out = append(out, p.PartyID)
	}
	return out
}

// TestMerge: Alice merges her calls with Bob and Carol; everyone hears
// everyone, holds and mutes act on each one's place, the host ends it.
func TestMerge(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	withBob := r.connected(t)
	aliceBob := partyOf(t, r, withBob.ID, alice)
	withCarol := r.dial(t, "a1", "103")
	withCarol, _, err := r.sw.Answer(ctx, "c1", withCarol.ID, "offer-c1")
	if err != nil {
		t.Fatal(err)
	}
	bobP, carolP, aliceP := partyOf(t, r, withBob.ID, bob), partyOf(t, r, withCarol.ID, carol), partyOf(t, r, withCarol.ID, alice)
	r.bus.take()

	cf, err := r.sw.Merge(ctx, "a1", withCarol.ID, withBob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cf.SessionID != withCarol.ID || cf.Host != alice || cf.State != telephony.ConferenceConnected || !cf.HostPresent {
		t.Fatalf("conference %+v", cf)
	}
	if got := participantIDs(cf); !slices.Equal(got, []string{aliceP.ID, carolP.ID, bobP.ID}) || !cf.Participants[0].Host {
		t.Fatalf("participants %+v", cf.Participants)
	}
	if cf.Participants[2].Name != "Bob Brown" || cf.Participants[2].SessionID != withBob.ID {
		t.Fatalf("Bob as a participant: %+v", cf.Participants[2])
	}
	wantMix(t, r, cf.ID, live(aliceP.ID), live(carolP.ID), live(bobP.ID))
	wantFlows(t, r) // nothing forwarded: all of it mixed
	if !r.media.isClosed(aliceBob.ID) {
		t.Fatal("Alice's leg of the call merged in is open")
	}
	after, _ := r.sw.Session(withBob.ID)
	if len(after.Parties) != 1 || after.Parties[0].Owner != bob || after.Parties[0].Status != telephony.StatusAnswered {
		t.Fatalf("Bob's call after the merge: %+v", after.Parties)
	}
	if rec := recordOf(t, r, 1, aliceBob.ID); rec.Result != telephony.ResultConnected {
		t.Fatalf("Alice's record of the call merged in: %+v", rec)
	}
	for _, ext := range []int64{alice, bob, carol} {
		if got := wantConference(t, r, ext, telephony.CauseConferenceCreated); got.ID != cf.ID || len(got.Participants) != 3 {
			t.Fatalf("extension %d told %+v", ext, got)
		}
	}
	wantStatus(t, r, withCarol.ID, alice, telephony.StatusAnswered)
	if got, ok := r.sw.ConferenceOf(bob, withBob.ID); !ok || got.ID != cf.ID {
		t.Fatalf("Bob's call's conference: %+v %v", got, ok)
	}
	if _, ok := r.sw.ConferenceOf(dave, withBob.ID); ok {
		t.Fatal("Dave sees a conference he is not in")
	}

	// Bob mutes himself: the others stop hearing him.
	if err := r.sw.Mute(ctx, "b1", withBob.ID, true); err != nil {
		t.Fatal(err)
	}
	wantMix(t, r, cf.ID, live(aliceP.ID), live(carolP.ID), telephony.MixMember{Leg: bobP.ID, Listen: true})
	got := wantConference(t, r, alice, telephony.CauseConferenceUpdated)
	if !got.Participants[2].Muted || got.Participants[2].MutedByHost {
		t.Fatalf("Bob muted: %+v", got.Participants[2])
	}
	if err := r.sw.Mute(ctx, "b1", withBob.ID, false); err != nil {
		t.Fatal(err)
	}

	// Alice holds: out of it; Bob and Carol go on.
	r.bus.take()
	if err := r.sw.Hold(ctx, "a1", withCarol.ID); err != nil {
		t.Fatal(err)
	}
	wantMix(t, r, cf.ID, telephony.MixMember{Leg: aliceP.ID}, live(carolP.ID), live(bobP.ID))
	if got := wantConference(t, r, carol, telephony.CauseConferenceHeld); got.State != telephony.ConferenceHeld {
		t.Fatalf("held conference: %+v", got)
	}
	if err := r.sw.Unhold(ctx, "a1", withCarol.ID); err != nil {
		t.Fatal(err)
	}
	wantConference(t, r, bob, telephony.CauseConferenceResumed)
	wantMix(t, r, cf.ID, live(aliceP.ID), live(carolP.ID), live(bobP.ID))

	// The host mutes Carol; only the host can do that.
	if err := r.sw.MuteParticipant(ctx, bob, cf.ID, carolP.ID, true); !errors.Is(err, telephony.ErrNotYourCall) {
		t.Fatalf("Bob mutes Carol: %v", err)
	}
	if err := r.sw.MuteParticipant(ctx, alice, cf.ID, carolP.ID, true); err != nil {
		t.Fatal(err)
	}
	wantMix(t, r, cf.ID, live(aliceP.ID), telephony.MixMember{Leg: carolP.ID, Listen: true}, live(bobP.ID))
	if got := wantConference(t, r, carol, telephony.CauseConferenceUpdated); !got.Participants[1].MutedByHost {
		t.Fatalf("Carol muted by the host: %+v", got.Participants[1])
	}

	// Calls in a conference stay in it.
	if _, err := r.sw.Transfer(ctx, "b1", withBob.ID, "101"); !errors.Is(err, telephony.ErrInvalidState) {
		t.Fatalf("transfer of a call in a conference: %v", err)
	}

	// Alice ends it for all.
	if err := r.sw.EndConference(ctx, bob, cf.ID); !errors.Is(err, telephony.ErrNotYourCall) {
		t.Fatalf("Bob ends Alice's conference: %v", err)
	}
	r.bus.take()
	if err := r.sw.EndConference(ctx, alice, withBob.ID); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []int64{alice, bob, carol} {
		if got := wantConference(t, r, ext, telephony.CauseConferenceEnded); got.State != telephony.ConferenceEnded {
			t.Fatalf("extension %d: %+v", ext, got)
		}
		if n := len(r.sw.Sessions(ext)); n != 0 {
			t.Fatalf("extension %d still has %d calls", ext, n)
		}
	}
	wantMix(t, r, cf.ID)
	for _, id := range []string{aliceP.ID, bobP.ID, carolP.ID} {
		if rec := recordOf(t, r, 4, id); rec.Result != telephony.ResultConnected {
			t.Fatalf("record %+v", rec)
		}
	}
}

// TestConferenceLeaving: who hangs up leaves; the conference ends when
// nobody is left to talk to.
func TestConferenceLeaving(t *testing.T) {
	ctx := context.Background()
	t.Run("a participant hangs up", func(t *testing.T) {
		r := newRig(t)
		cf, withBob, withCarol := merged(t, r)
		aliceP, carolP := partyOf(t, r, withCarol.ID, alice), partyOf(t, r, withCarol.ID, carol)
		bobP := partyOf(t, r, withBob.ID, bob)
		r.bus.take()
		if err := r.sw.Hangup(ctx, "b1", withBob.ID); err != nil {
			t.Fatal(err)
		}
		if _, ok := r.sw.Session(withBob.ID); ok {
			t.Fatal("Bob's call goes on")
		}
		got := wantConference(t, r, alice, telephony.CauseConferenceLeft)
		if ids := participantIDs(got); !slices.Equal(ids, []string{aliceP.ID, carolP.ID}) {
			t.Fatalf("participants after Bob left: %v", ids)
		}
		wantConference(t, r, bob, telephony.CauseConferenceLeft)
		wantMix(t, r, cf.ID, live(aliceP.ID), live(carolP.ID))
		if !r.media.isClosed(bobP.ID) {
			t.Fatal("Bob's leg is open")
		}
		// The last participant hangs up: it is over.
		if err := r.sw.Hangup(ctx, "c1", withCarol.ID); err != nil {
			t.Fatal(err)
		}
		wantConference(t, r, alice, telephony.CauseConferenceEnded)
		if n := len(r.sw.Sessions(alice)); n != 0 {
			t.Fatalf("Alice still has %d calls", n)
		}
		wantMix(t, r, cf.ID)
	})
	t.Run("the anchor's participant hangs up", func(t *testing.T) {
		r := newRig(t)
		cf, withBob, withCarol := merged(t, r)
		aliceP, bobP := partyOf(t, r, withCarol.ID, alice), partyOf(t, r, withBob.ID, bob)
		if err := r.sw.Hangup(ctx, "c1", withCarol.ID); err != nil {
			t.Fatal(err)
		}
		// Alice's call with Carol carries the conference on.
		wantStatus(t, r, withCarol.ID, alice, telephony.StatusAnswered)
		wantMix(t, r, cf.ID, live(aliceP.ID), live(bobP.ID))
		if n := len(r.sw.Sessions(carol)); n != 0 {
			t.Fatalf("Carol still has %d calls", n)
		}
		e := r.bus.waitFor(t, func(e telephony.Event) bool {
			return e.Extension == carol && e.Cause == telephony.CauseConferenceLeft
		})
		if len(e.Conference.Participants) != 2 {
			t.Fatalf("participants after Carol left: %+v", e.Conference.Participants)
		}
		// Carol heard her call end once: the conference's event does not
		// show her party again.
		for _, p := range e.Session.Parties {
			if p.Owner == carol {
				t.Fatalf("Carol's conference event shows her party %+v", p)
			}
		}
	})
	t.Run("the host leaves two talking", func(t *testing.T) {
		r := newRig(t)
		cf, withBob, withCarol := merged(t, r)
		carolP, bobP := partyOf(t, r, withCarol.ID, carol), partyOf(t, r, withBob.ID, bob)
		if err := r.sw.Hangup(ctx, "a1", withCarol.ID); err != nil {
			t.Fatal(err)
		}
		wantMix(t, r, cf.ID, live(carolP.ID), live(bobP.ID))
		if n := len(r.sw.Sessions(alice)); n != 0 {
			t.Fatalf("Alice still has %d calls", n)
		}
		got := wantConference(t, r, bob, telephony.CauseConferenceLeft)
		if got.HostPresent || len(got.Participants) != 2 {
			t.Fatalf("after the host left: %+v", got)
		}
		if err := r.sw.EndConference(ctx, alice, cf.ID); !errors.Is(err, telephony.ErrNoSuchCall) && !errors.Is(err, telephony.ErrInvalidState) {
			t.Fatalf("the host who left ends it: %v", err)
		}
		// One of the two hangs up: the other is alone, so it ends.
		if err := r.sw.Hangup(ctx, "b1", withBob.ID); err != nil {
			t.Fatal(err)
		}
		wantConference(t, r, carol, telephony.CauseConferenceEnded)
		if n := len(r.sw.Sessions(carol)); n != 0 {
			t.Fatalf("Carol still has %d calls", n)
		}
	})
	t.Run("the host removes participants", func(t *testing.T) {
		r := newRig(t)
		cf, withBob, withCarol := merged(t, r)
		aliceP, carolP, bobP := partyOf(t, r, withCarol.ID, alice), partyOf(t, r, withCarol.ID, carol), partyOf(t, r, withBob.ID, bob)
		if err := r.sw.RemoveParticipant(ctx, carol, cf.ID, bobP.ID); !errors.Is(err, telephony.ErrNotYourCall) {
			t.Fatalf("Carol removes Bob: %v", err)
		}
		if err := r.sw.RemoveParticipant(ctx, alice, cf.ID, "nobody"); !errors.Is(err, telephony.ErrNoSuchParty) {
			t.Fatalf("remove nobody: %v", err)
		}
		if err := r.sw.RemoveParticipant(ctx, alice, cf.ID, carolP.ID); err != nil {
			t.Fatal(err)
		}
		wantConference(t, r, carol, telephony.CauseConferenceRemoved)
		wantMix(t, r, cf.ID, live(aliceP.ID), live(bobP.ID))
		if n := len(r.sw.Sessions(carol)); n != 0 {
			t.Fatalf("Carol still has %d calls", n)
		}
		wantStatus(t, r, withCarol.ID, alice, telephony.StatusAnswered)
		// The last one removed ends it.
		if err := r.sw.RemoveParticipant(ctx, alice, withCarol.ID, bobP.ID); err != nil {
			t.Fatal(err)
		}
		wantConference(t, r, alice, telephony.CauseConferenceEnded)
		for _, ext := range []int64{alice, bob} {
			if n := len(r.sw.Sessions(ext)); n != 0 {
				t.Fatalf("extension %d still has %d calls", ext, n)
			}
		}
	})
	t.Run("a participant's leg fails", func(t *testing.T) {
		r := newRig(t)
		cf, withBob, withCarol := merged(t, r)
		aliceP, carolP, bobP := partyOf(t, r, withCarol.ID, alice), partyOf(t, r, withCarol.ID, carol), partyOf(t, r, withBob.ID, bob)
		r.sw.LegFailed(bobP.ID)
		wantMix(t, r, cf.ID, live(aliceP.ID), live(carolP.ID))
		wantConference(t, r, alice, telephony.CauseConferenceLeft)
	})
}

// noMixer is media that cannot mix: only Media's methods.
type noMixer struct{ telephony.Media }

// TestMergeRefused: what cannot be merged is refused, and nothing changes.
func TestMergeRefused(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	withBob := r.connected(t)
	if _, err := r.sw.Merge(ctx, "a1", withBob.ID, withBob.ID); !errors.Is(err, telephony.ErrInvalidState) {
		t.Fatalf("a call merged with itself: %v", err)
	}
	if _, err := r.sw.Merge(ctx, "b1", withBob.ID, "no-such-call"); !errors.Is(err, telephony.ErrNoSuchCall) {
		t.Fatalf("merged with no call: %v", err)
	}
	ringing := r.dial(t, "a1", "103")
	if _, err := r.sw.Merge(ctx, "a1", withBob.ID, ringing.ID); !errors.Is(err, telephony.ErrInvalidState) {
		t.Fatalf("a ringing call merged: %v", err)
	}
	if _, err := r.sw.Merge(ctx, "c1", withBob.ID, ringing.ID); !errors.Is(err, telephony.ErrNotYourCall) {
		t.Fatalf("Carol merges Alice's calls: %v", err)
	}
	if _, err := r.sw.MergeParty(ctx, bob, withBob.ID, partyOf(t, r, withBob.ID, alice).ID, ringing.ID, partyOf(t, r, ringing.ID, alice).ID); !errors.Is(err, telephony.ErrNotYourCall) {
		t.Fatalf("Bob merges Alice's parties: %v", err)
	}
	if len(r.media.mixes) != 0 {
		t.Fatalf("mixes after refusals: %v", r.media.mixes)
	}

	t.Run("no mixer", func(t *testing.T) {
		m := newMedia()
		sw := telephony.New(telephony.Config{}, directory{}, noMixer{m}, newBus(), newPresence(), nil)
		defer sw.Close(ctx)
		sw.RegisterDevice(telephony.Device{ID: "a1", ExtensionID: alice})
		sw.RegisterDevice(telephony.Device{ID: "b1", ExtensionID: bob})
		s, _, err := sw.Dial(ctx, "a1", "102", "offer")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := sw.Answer(ctx, "b1", s.ID, "offer"); err != nil {
			t.Fatal(err)
		}
		p, _ := s.Party(s.Parties[0].ID)
		if _, err := sw.StartConference(ctx, alice, s.ID, p.ID); !errors.Is(err, telephony.ErrNoConferences) {
			t.Fatalf("a conference without a mixer: %v", err)
		}
	})
}

// TestStartConference: one call becomes a conference of one participant,
// and others are brought in: by the platform's bring-in, or by merging the
// new call with the conference.
func TestStartConference(t *testing.T) {
	ctx := context.Background()
	for _, how := range []string{"bring-in", "merge from the new call"} {
		t.Run(how, func(t *testing.T) {
			r := newRig(t)
			withBob := r.connected(t)
			aliceP, bobP := partyOf(t, r, withBob.ID, alice), partyOf(t, r, withBob.ID, bob)
			cf, err := r.sw.StartConference(ctx, alice, withBob.ID, aliceP.ID)
			if err != nil {
				t.Fatal(err)
			}
			wantMix(t, r, cf.ID, live(aliceP.ID), live(bobP.ID))
			wantFlows(t, r)
			again, err := r.sw.StartConference(ctx, alice, withBob.ID, aliceP.ID)
			if err != nil || again.ID != cf.ID {
				t.Fatalf("started again: %+v %v", again, err)
			}
			if _, err := r.sw.StartConference(ctx, bob, withBob.ID, bobP.ID); !errors.Is(err, telephony.ErrInvalidState) {
				t.Fatalf("a participant starts a conference of the host's: %v", err)
			}
			withCarol := r.dial(t, "a1", "103")
			if _, _, err := r.sw.Answer(ctx, "c1", withCarol.ID, "offer-c1"); err != nil {
				t.Fatal(err)
			}
			// Alice's second call held the conference, for her.
			wantMix(t, r, cf.ID, telephony.MixMember{Leg: aliceP.ID}, live(bobP.ID))
			carolP := partyOf(t, r, withCarol.ID, carol)
			var got telephony.Conference
			if how == "bring-in" {
				got, err = r.sw.MergeParty(ctx, alice, withBob.ID, aliceP.ID, withCarol.ID, partyOf(t, r, withCarol.ID, alice).ID)
			} else {
				got, err = r.sw.Merge(ctx, "a1", withCarol.ID, withBob.ID)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != cf.ID || got.SessionID != withBob.ID || len(got.Participants) != 3 {
				t.Fatalf("after the merge: %+v", got)
			}
			wantMix(t, r, cf.ID, live(aliceP.ID), live(bobP.ID), live(carolP.ID))
			wantStatus(t, r, withBob.ID, alice, telephony.StatusAnswered)
			// A participant cannot merge a call of the conference.
			if _, err := r.sw.Merge(ctx, "c1", withCarol.ID, withBob.ID); err == nil {
				t.Fatal("Carol merged a call of the conference")
			}
		})
	}
}

// TestInvite: the host calls someone to join; once they answer, their
// call joins the conference. One who declines is "rejected", and the
// host's side of the conference resumes.
func TestInvite(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	withBob := r.connected(t)
	aliceP, bobP := partyOf(t, r, withBob.ID, alice), partyOf(t, r, withBob.ID, bob)
	cf, err := r.sw.StartConference(ctx, alice, withBob.ID, aliceP.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.sw.Invite(ctx, "b1", cf.ID, "103", "offer-b1"); !errors.Is(err, telephony.ErrNotYourCall) {
		t.Fatalf("Bob invites to Alice's conference: %v", err)
	}
	r.bus.take()
	inv, _, err := r.sw.Invite(ctx, "a1", withBob.ID, "103", "offer-a1-2")
	if err != nil {
		t.Fatal(err)
	}
	got := wantConference(t, r, bob, telephony.CauseConferenceInvited)
	if len(got.Invitations) != 1 || got.Invitations[0].SessionID != inv.ID || got.Invitations[0].To.ExtensionNumber != "103" {
		t.Fatalf("invitations %+v", got.Invitations)
	}
	// The host is out while the call rings; Bob hears nobody meanwhile.
	wantMix(t, r, cf.ID, telephony.MixMember{Leg: aliceP.ID}, live(bobP.ID))
	if _, _, err := r.sw.Answer(ctx, "c1", inv.ID, "offer-c1"); err != nil {
		t.Fatal(err)
	}
	got = wantConference(t, r, alice, telephony.CauseConferenceJoined)
	if len(got.Participants) != 3 || len(got.Invitations) != 0 {
		t.Fatalf("after Carol joined: %+v", got)
	}
	carolP := partyOf(t, r, inv.ID, carol)
	wantMix(t, r, cf.ID, live(aliceP.ID), live(bobP.ID), live(carolP.ID))
	if n := len(r.sw.Sessions(alice)); n != 1 {
		t.Fatalf("Alice has %d calls, want the conference's one", n)
	}

	// Declined: rejected, and the host is back.
	r.bus.take()
	declined, _, err := r.sw.Invite(ctx, "a1", cf.ID, "102", "offer-a1-d")
	if err != nil {
		t.Fatal(err)
	}
	wantConference(t, r, alice, telephony.CauseConferenceInvited)
	for _, d := range []string{"b2", "b1"} { // Bob's every device declines
		if err := r.sw.Reject(ctx, d, declined.ID); err != nil {
			t.Fatal(err)
		}
	}
	wantConference(t, r, carol, telephony.CauseConferenceRejected)
	wantConference(t, r, alice, telephony.CauseConferenceResumed)

	// The echo line answers, but cannot join (it has no leg of its own):
	// rejected; its call stays one of its own.
	r.bus.take()
	echo, _, err := r.sw.Invite(ctx, "a1", cf.ID, "+15550101", "offer-a1-3")
	if err != nil {
		t.Fatal(err)
	}
	wantConference(t, r, carol, telephony.CauseConferenceInvited)
	wantConference(t, r, alice, telephony.CauseConferenceRejected)
	if _, ok := r.sw.Session(echo.ID); !ok {
		t.Fatal("the echo line's call ended: it stays a call of its own")
	}
	if err := r.sw.Hangup(ctx, "a1", echo.ID); err != nil {
		t.Fatal(err)
	}
	wantConference(t, r, alice, telephony.CauseConferenceResumed)
	wantMix(t, r, cf.ID, live(aliceP.ID), live(bobP.ID), live(carolP.ID))
}

// TestInviteFromACall: adding someone to a plain call makes it a conference
// once they answer.
func TestInviteFromACall(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	withBob := r.connected(t)
	aliceP, bobP := partyOf(t, r, withBob.ID, alice), partyOf(t, r, withBob.ID, bob)
	if _, _, err := r.sw.Invite(ctx, "c1", withBob.ID, "101", "offer-c1"); !errors.Is(err, telephony.ErrNotYourCall) {
		t.Fatalf("Carol adds to Alice's call: %v", err)
	}
	inv, _, err := r.sw.Invite(ctx, "a1", withBob.ID, "103", "offer-a1-2")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.sw.Answer(ctx, "c1", inv.ID, "offer-c1"); err != nil {
		t.Fatal(err)
	}
	got := wantConference(t, r, carol, telephony.CauseConferenceCreated)
	if got.SessionID != withBob.ID || len(got.Participants) != 3 {
		t.Fatalf("the conference %+v", got)
	}
	wantMix(t, r, got.ID, live(aliceP.ID), live(bobP.ID), live(partyOf(t, r, inv.ID, carol).ID))
	wantStatus(t, r, withBob.ID, alice, telephony.StatusAnswered)
}
