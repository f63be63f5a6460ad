package e2e

import (
	"fmt"
	"slices"
	"testing"
)

// conferenceSteps lists, in order, what e's host page heard of a
// conference and of the calls in ids: "conference:<change>" and
// "end:<call id>".
func conferenceSteps(t *testing.T, e *env, ids ...string) []string {
	t.Helper()
	known := "["
	for _, id := range ids {
		known += fmt.Sprintf("%q,", id)
	}
	known += "]"
	return eval[[]string](t, e.ctx, `cbDemo.messages.filter(m => m.data && (m.data.type === 'rc-conference-notify' ||
		m.data.type === 'rc-call-end-notify' && m.data.call && `+known+`.includes(m.data.call.telephonySessionId))).map(m =>
		m.data.type === 'rc-conference-notify' ? 'conference:' + m.data.change : 'end:' + m.data.call.telephonySessionId)`)
}

// onlyChanges keeps the steps that are conference changes in changes, and
// the ends.
func onlyChanges(steps []string, changes ...string) []string {
	var out []string
	for _, s := range steps {
		if len(s) > 4 && s[:4] == "end:" || slices.Contains(changes, s) {
			out = append(out, s)
		}
	}
	return out
}

// TestConferenceBetweenWidgets: alice calls bob, then carol, and merges the
// calls: all three hear each other. Bob leaves; alice ends it for all.
// Each host page hears every step, in order.
func TestConferenceBetweenWidgets(t *testing.T) {
	alice := start(t)
	bob, carol := alice.second(t), alice.second(t)
	signedIn(t, alice, "alice@demo.test", "+16505550100*101")
	signedIn(t, bob, "bob@demo.test", "+16505550100*102")
	signedIn(t, carol, "carol@demo.test", "+16505550100*103")
	seen := map[string]bool{}

	withBob := connectedCall(t, alice, bob, seen)
	seen[withBob] = true
	// A second call holds the first for it.
	eval[any](t, alice.ctx, `RCAdapter.clickToCall('103', true)`)
	withCarol := ringingCall(t, carol, newCall(seen))
	seen[withCarol] = true
	controlCallOn(t, carol, "answer", withCarol, "")
	waitMessage(t, alice.ctx, "rc-call-start-notify", sessionOf(withCarol))
	waitMessage(t, bob.ctx, "rc-telephony-session-notify", fmt.Sprintf(
		`m.data.telephonySession.id === %q && m.data.telephonySession.parties.some(p => p.status.code === 'Hold')`, withBob))

	// The merge: alice's call with carol carries the conference; her call
	// with bob ends for her, and bob stays, in the conference.
	controlCallOn(t, alice, "merge", withCarol, "")
	for who, e := range map[string]*env{"alice": alice, "bob": bob, "carol": carol} {
		m := waitMessage(t, e.ctx, "rc-conference-notify", `m.data.change === 'created'`)
		cf := m.Data["conference"].(map[string]any)
		parts := cf["participants"].([]any)
		if len(parts) != 3 || cf["host"] != (who == "alice") || cf["hostSessionId"] != withCarol || cf["state"] != "connected" {
			t.Fatalf("%s's page: conference %v", who, cf)
		}
	}
	waitMessage(t, alice.ctx, "rc-call-end-notify", sessionOf(withBob))
	session := waitMessage(t, bob.ctx, "rc-telephony-session-notify", fmt.Sprintf(
		`m.data.telephonySession.id === %q && m.data.telephonySession.parties.length === 3`, withBob))
	if parties := session.Data["telephonySession"].(map[string]any)["parties"].([]any); len(parties) != 3 {
		t.Fatalf("bob's session lists %v", parties)
	}
	// Everyone hears: audio grows on every call of the conference.
	callAudioFlows(t, "alice", alice, withCarol)
	callAudioFlows(t, "bob", bob, withBob)
	callAudioFlows(t, "carol", carol, withCarol)
	maybeScreenshot(t, alice, "alice-hosting-a-conference")
	maybeScreenshot(t, bob, "bob-in-a-conference")

	// Bob leaves: his endConference only takes him out.
	controlCallOn(t, bob, "endConference", withBob, "")
	waitMessage(t, bob.ctx, "rc-call-end-notify", sessionOf(withBob))
	waitMessage(t, alice.ctx, "rc-conference-notify", `m.data.change === 'left' && m.data.conference.participants.length === 2`)
	callAudioFlows(t, "carol after bob left", carol, withCarol)

	// Alice adds bob back by number: he rings, answers, and joins.
	controlCallOn(t, alice, "addParticipant", withCarol, `{number: '102'}`)
	waitMessage(t, alice.ctx, "rc-conference-notify", `m.data.change === 'invited' && m.data.conference.invitations.length === 1`)
	again := ringingCall(t, bob, newCall(seen))
	seen[again] = true
	controlCallOn(t, bob, "answer", again, "")
	waitMessage(t, carol.ctx, "rc-conference-notify", `m.data.change === 'joined' && m.data.conference.participants.length === 3`)
	waitMessage(t, alice.ctx, "rc-call-end-notify", sessionOf(again))
	callAudioFlows(t, "bob added back", bob, again)

	// Alice ends it for all.
	controlCallOn(t, alice, "endConference", withCarol, "")
	waitMessage(t, carol.ctx, "rc-call-end-notify", sessionOf(withCarol))
	waitMessage(t, alice.ctx, "rc-call-end-notify", sessionOf(withCarol))
	waitMessage(t, bob.ctx, "rc-call-end-notify", sessionOf(again))

	changes := []string{"conference:created", "conference:invited", "conference:joined", "conference:left", "conference:ended"}
	want := map[*env][]string{
		alice: {"end:" + withBob, "conference:created", "conference:left", "conference:invited", "end:" + again, "conference:joined",
			"conference:ended", "end:" + withCarol},
		bob:   {"conference:created", "conference:left", "end:" + withBob, "conference:joined", "conference:ended", "end:" + again},
		carol: {"conference:created", "conference:left", "conference:invited", "conference:joined", "conference:ended", "end:" + withCarol},
	}
	for e, steps := range want {
		if got := onlyChanges(conferenceSteps(t, e, withBob, withCarol, again), changes...); !slices.Equal(got, steps) {
			t.Errorf("a host page heard %v, want %v", got, steps)
		}
	}
}
