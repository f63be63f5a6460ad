package telephony_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/callbridge/widget-server/internal/telephony"
)

// recordEvents returns the statuses of the "record" events told to ext.
func recordEvents(events []telephony.Event, ext int64) []telephony.RecordStatus {
	var out []telephony.RecordStatus
	for _, e := range events {
		if e.Cause == telephony.CauseRecord && e.Extension == ext {
			out = append(out, e.Recording.Status)
		}
	}
	return out
}

// TestRecording: a party of a connected call records it — both legs, its
// own first — pauses, resumes and stops it; starting twice or stopping an
// idle call is refused; a second recording after a stop is a new one, and
// the owner's call-log record names the last; every change is a "record"
// event for both extensions, and the session shows the status.
func TestRecording(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	m := r.withMailbox(rules{})
	s := r.connected(t)
	r.bus.take()
	if _, err := r.sw.Record(ctx, "a1", s.ID, telephony.RecordStop); !errors.Is(err, telephony.ErrInvalidState) {
		t.Fatalf("stop before start: %v", err)
	}
	snap, err := r.sw.Record(ctx, "b1", s.ID, telephony.RecordStart)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Recording == nil || snap.Recording.Status != telephony.RecordRecording || snap.Recording.Owner != bob ||
		snap.Recording.Type != telephony.RecordingOnDemand {
		t.Fatalf("recording %+v", snap.Recording)
	}
	first := snap.Recording.ID
	if len(m.started) != 1 || !slices.Equal(m.started[0].Legs, []string{s.Parties[1].ID, s.Parties[0].ID}) || m.started[0].ID != first {
		t.Fatalf("started %+v", m.started)
	}
	if _, err := r.sw.Record(ctx, "a1", s.ID, telephony.RecordStart); !errors.Is(err, telephony.ErrInvalidState) {
		t.Fatalf("second start: %v", err)
	}
	for _, a := range []telephony.RecordAction{telephony.RecordPause, telephony.RecordResume} {
		if _, err := r.sw.Record(ctx, "b1", s.ID, a); err != nil {
			t.Fatal(err)
		}
		if _, err := r.sw.Record(ctx, "b1", s.ID, a); !errors.Is(err, telephony.ErrInvalidState) {
			t.Fatalf("%s twice: %v", a, err)
		}
	}
	if err := r.sw.Hold(ctx, "a1", s.ID); err != nil { // the recording goes on across hold
		t.Fatal(err)
	}
	if cur, _ := r.sw.Session(s.ID); cur.Recording == nil || cur.Recording.Status != telephony.RecordRecording {
		t.Fatalf("held call's recording %+v", cur.Recording)
	}
	if _, err := r.sw.Record(ctx, "b1", s.ID, telephony.RecordStop); err != nil {
		t.Fatal(err)
	}
	snap, err = r.sw.Record(ctx, "a1", s.ID, telephony.RecordStart)
	if err != nil {
		t.Fatal(err)
	}
	second := snap.Recording.ID
	if second == first || snap.Recording.Owner != alice {
		t.Fatalf("second recording %+v", snap.Recording)
	}
	if err := r.sw.Hangup(ctx, "b1", s.ID); err != nil {
		t.Fatal(err)
	}
	want := []telephony.RecordStatus{telephony.RecordRecording, telephony.RecordPaused, telephony.RecordRecording,
		telephony.RecordIdle, telephony.RecordRecording, telephony.RecordIdle}
	events := r.bus.all()
	for _, ext := range []int64{alice, bob} {
		if got := recordEvents(events, ext); !slices.Equal(got, want) {
			t.Errorf("extension %d told %v, want %v", ext, got, want)
		}
	}
	m.mu.Lock()
	if !slices.Equal(m.paused[first], []bool{true, false}) || !slices.Equal(m.stopped, []string{first, second}) {
		t.Errorf("paused %v, stopped %v", m.paused, m.stopped)
	}
	m.mu.Unlock()
	for _, rec := range r.log.wait(t, 2) {
		switch {
		case rec.Extension == alice && (rec.Recording == nil || rec.Recording.ID != second || rec.Recording.Type != telephony.RecordingOnDemand):
			t.Errorf("Alice's record names %+v", rec.Recording)
		case rec.Extension == bob && rec.Recording != nil:
			t.Errorf("Bob's record names %+v", rec.Recording)
		}
	}
}

// TestRecordingAcrossTransfer: the recording of the party that stays
// follows a blind transfer to its target; the recording of the party that
// transfers stops when it leaves.
func TestRecordingAcrossTransfer(t *testing.T) {
	ctx := context.Background()
	t.Run("the owner stays", func(t *testing.T) {
		r := newRig(t)
		m := r.withMailbox(rules{})
		s := r.connected(t)
		snap, err := r.sw.Record(ctx, "a1", s.ID, telephony.RecordStart)
		if err != nil {
			t.Fatal(err)
		}
		id := snap.Recording.ID
		s, err = r.sw.Transfer(ctx, "b1", s.ID, "103")
		if err != nil {
			t.Fatal(err)
		}
		target := s.Parties[len(s.Parties)-1]
		if _, _, err := r.sw.Answer(ctx, "c1", s.ID, "offer-c1"); err != nil {
			t.Fatal(err)
		}
		m.mu.Lock()
		legs := m.legs[id]
		m.mu.Unlock()
		if len(legs) != 2 || !slices.Equal(legs[0], []string{s.Parties[0].ID}) ||
			!slices.Equal(legs[1], []string{s.Parties[0].ID, target.ID}) {
			t.Fatalf("recording legs %v", legs)
		}
		if cur, _ := r.sw.Session(s.ID); cur.Recording == nil || cur.Recording.ID != id {
			t.Fatalf("recording after the transfer %+v", cur.Recording)
		}
	})
	t.Run("the owner leaves", func(t *testing.T) {
		r := newRig(t)
		m := r.withMailbox(rules{})
		s := r.connected(t)
		snap, err := r.sw.Record(ctx, "b1", s.ID, telephony.RecordStart)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.sw.Transfer(ctx, "b1", s.ID, "103"); err != nil {
			t.Fatal(err)
		}
		m.mu.Lock()
		stopped := slices.Clone(m.stopped)
		m.mu.Unlock()
		if !slices.Equal(stopped, []string{snap.Recording.ID}) {
			t.Fatalf("stopped %v", stopped)
		}
	})
}

// TestRecordingRefused: recording needs a mailbox and a connected party of
// the asker; a mailbox that cannot start (a full disk) leaves the call
// unrecorded with the error.
func TestRecordingRefused(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	s := r.connected(t)
	if _, err := r.sw.Record(ctx, "a1", s.ID, telephony.RecordStart); !errors.Is(err, telephony.ErrNoMailbox) {
		t.Fatalf("without a mailbox: %v", err)
	}
	m := r.withMailbox(rules{})
	if _, err := r.sw.Record(ctx, "c1", s.ID, telephony.RecordStart); !errors.Is(err, telephony.ErrNotYourCall) {
		t.Fatalf("from another device: %v", err)
	}
	if _, err := r.sw.RecordParty(ctx, carol, s.ID, s.Parties[0].ID, telephony.RecordStart); !errors.Is(err, telephony.ErrNotYourCall) {
		t.Fatalf("another extension's party: %v", err)
	}
	m.startErr = telephony.ErrStorageFull
	if _, err := r.sw.RecordParty(ctx, alice, s.ID, s.Parties[0].ID, telephony.RecordStart); !errors.Is(err, telephony.ErrStorageFull) {
		t.Fatalf("disk full: %v", err)
	}
	if cur, _ := r.sw.Session(s.ID); cur.Recording != nil {
		t.Fatalf("recording %+v after a failed start", cur.Recording)
	}
	ringing := r.dial(t, "c1", "101")
	if _, err := r.sw.Record(ctx, "c1", ringing.ID, telephony.RecordStart); !errors.Is(err, telephony.ErrInvalidState) {
		t.Fatalf("a ringing call: %v", err)
	}
}

// TestAutomaticRecording: a call to an extension whose rule records every
// call is recorded from the answer, as its recording of type Automatic.
func TestAutomaticRecording(t *testing.T) {
	auto := telephony.DefaultRule()
	auto.AutoRecord = true
	r := newRig(t)
	r.withMailbox(rules{bob: auto})
	s := r.connected(t)
	e := r.bus.waitFor(t, func(e telephony.Event) bool { return e.Cause == telephony.CauseRecord })
	if rec := e.Session.Recording; rec == nil || rec.Type != telephony.RecordingAutomatic || rec.Owner != bob || e.Session.ID != s.ID {
		t.Fatalf("recording %+v", rec)
	}
}
