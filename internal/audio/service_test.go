package audio_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/audio"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/telephony"
)

type fixture struct {
	db    *store.DB
	media *fakeMedia
	msgs  *messaging.Service
	svc   *audio.Service
	bob   identity.Extension
	now   time.Time

	mu      sync.Mutex
	changes []messaging.Change
}

func newFixture(t *testing.T, cfg audio.Config) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := identity.NewDirectory(db).SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	acct, _ := db.AccountByMainNumber(ctx, identity.DemoMainNumber)
	bob, err := db.ExtensionByNumber(ctx, acct.ID, "102")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, media: newFakeMedia(), bob: bob, now: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	clock := func() time.Time {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.now
	}
	f.msgs = messaging.New(messaging.Config{Now: clock, OnChange: func(c messaging.Change) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.changes = append(f.changes, c)
	}}, db, db)
	cfg.Dir, cfg.Now = db.AudioDir(), clock
	f.svc = audio.New(cfg, f.media, db, f.msgs)
	return f
}

func (f *fixture) told() []messaging.Change {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]messaging.Change(nil), f.changes...)
}

func (f *fixture) voicemail(t *testing.T) []messaging.Message {
	t.Helper()
	page, err := f.msgs.Messages(context.Background(), messaging.Query{ExtensionID: f.bob.ID,
		Types: []messaging.Type{messaging.VoiceMail}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	return page.Messages
}

// files lists the files under the audio dir's sub.
func (f *fixture) files(t *testing.T, sub string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(f.db.AudioDir(), sub), func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, path)
		}
		return nil
	})
	return out
}

var caller = telephony.VoicemailCall{From: telephony.Endpoint{PhoneNumber: "+15550100", Name: "Tone line"},
	To: telephony.Endpoint{ExtensionNumber: "102"}, Leg: "leg-1", TelephonySessionID: "s-1"}

func (f *fixture) call() telephony.VoicemailCall {
	v := caller
	v.Mailbox = f.bob.ID
	return v
}

// counter counts the calls of done.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) done() { c.mu.Lock(); c.n++; c.mu.Unlock() }
func (c *counter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func TestVoicemail(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		talk      time.Duration
		end       func(f *fixture, id string)
		wantDone  int
		wantKept  time.Duration // 0: no message
		limit     time.Duration
		greetings bool // hang up during the greeting
	}{
		{name: "hash ends it", talk: 2500 * time.Millisecond, end: func(f *fixture, id string) { f.media.digit(id, '#') },
			wantDone: 1, wantKept: 3 * time.Second},
		{name: "other digits do not", talk: 2 * time.Second, end: func(f *fixture, id string) {
			f.media.digit(id, '5')
			f.media.stop(id, audio.StopHangup, nil)
		}, wantKept: 2 * time.Second},
		{name: "limit ends it", talk: 10 * time.Second, limit: 4 * time.Second, end: func(*fixture, string) {},
			wantDone: 1, wantKept: 4 * time.Second},
		{name: "hang up keeps it", talk: 1500 * time.Millisecond, end: func(f *fixture, id string) { f.media.stop(id, audio.StopHangup, nil) },
			wantKept: 2 * time.Second},
		{name: "hang up at the beep leaves nothing", talk: 400 * time.Millisecond,
			end: func(f *fixture, id string) { f.media.stop(id, audio.StopHangup, nil) }},
		{name: "hang up during the greeting leaves nothing", greetings: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, audio.Config{VoicemailLimit: tt.limit})
			var done counter
			if err := f.svc.TakeMessage(ctx, f.call(), done.done); err != nil {
				t.Fatal(err)
			}
			plays := f.media.pending()
			if len(plays) != 1 || plays[0].leg != "leg-1" || len(plays[0].prompts) != 2 ||
				plays[0].prompts[0] != (audio.Prompt{Sound: audio.SoundGreeting}) || plays[0].prompts[1] != (audio.Prompt{Sound: audio.SoundBeep}) {
				t.Fatalf("played %+v, want the default greeting and a beep to leg-1", plays)
			}
			if tt.greetings {
				f.media.played(false)
				if id, _ := f.media.lastRecording(); id != "" {
					t.Fatalf("recording %s started", id)
				}
			} else {
				f.media.played(true)
				id, rec := f.media.lastRecording()
				if rec == nil || len(rec.legs) != 1 || rec.legs[0] != "leg-1" {
					t.Fatalf("recording %+v", rec)
				}
				wantLimit := tt.limit
				if wantLimit == 0 {
					wantLimit = audio.DefaultVoicemailLimit
				}
				if rec.opts.MaxDuration != wantLimit {
					t.Fatalf("limit %v, want %v", rec.opts.MaxDuration, wantLimit)
				}
				f.media.speak(id, tt.talk)
				tt.end(f, id)
			}
			if done.count() != tt.wantDone {
				t.Fatalf("done called %d times, want %d", done.count(), tt.wantDone)
			}
			msgs := f.voicemail(t)
			files := f.files(t, "voicemail")
			if tt.wantKept == 0 {
				if len(msgs) != 0 || len(files) != 0 || len(f.told()) != 0 {
					t.Fatalf("messages %+v, files %v", msgs, files)
				}
				return
			}
			if len(msgs) != 1 || len(files) != 1 {
				t.Fatalf("messages %+v, files %v", msgs, files)
			}
			m := msgs[0]
			if m.ReadStatus != messaging.Unread || m.Direction != messaging.Inbound || m.From.PhoneNumber != "+15550100" ||
				len(m.Attachments) != 1 || m.Attachments[0].Duration != tt.wantKept || m.Attachments[0].ContentType != audio.ContentOgg {
				t.Fatalf("message %+v", m)
			}
			fh, fi, err := f.svc.Open(m.Attachments[0].File)
			if err != nil || fi.Size() != m.Attachments[0].Size || fi.Size() < 4 {
				t.Fatalf("open %+v: %v", m.Attachments[0], err)
			}
			fh.Close()
			if told := f.told(); len(told) != 1 || !told[0].New || told[0].Message.ID != m.ID {
				t.Fatalf("told %+v, want the new message once", told)
			}
		})
	}
}

func TestOwnGreeting(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, audio.Config{})
	record := func() (*counter, string) {
		t.Helper()
		var done counter
		if err := f.svc.RecordGreeting(ctx, f.bob.ID, "leg-g", done.done); err != nil {
			t.Fatal(err)
		}
		if p := f.media.played(true); len(p.prompts) != 1 || p.prompts[0].Sound != audio.SoundBeep {
			t.Fatalf("played %+v, want a beep", p.prompts)
		}
		id, _ := f.media.lastRecording()
		f.media.speak(id, 3*time.Second)
		return &done, id
	}
	done, id := record()
	f.media.digit(id, '#')
	if done.count() != 1 {
		t.Fatalf("done %d", done.count())
	}
	first, err := f.svc.Greeting(ctx, f.bob.ID)
	if err != nil || first.Duration != 3*time.Second {
		t.Fatalf("greeting %+v %v", first, err)
	}

	// A second one, ended by hanging up, replaces it and its file.
	done, id = record()
	f.media.stop(id, audio.StopHangup, nil)
	second, err := f.svc.Greeting(ctx, f.bob.ID)
	if err != nil || second.File == first.File || done.count() != 0 {
		t.Fatalf("greeting %+v %v, done %d", second, err, done.count())
	}
	if files := f.files(t, "greetings"); len(files) != 1 || files[0] != filepath.Join(f.db.AudioDir(), second.File) {
		t.Fatalf("files %v, want only %s", files, second.File)
	}

	// Callers hear it.
	if err := f.svc.TakeMessage(ctx, f.call(), nil); err != nil {
		t.Fatal(err)
	}
	if p := f.media.played(false); p.prompts[0].File != filepath.Join(f.db.AudioDir(), second.File) {
		t.Fatalf("played %+v, want the own greeting", p.prompts)
	}

	if err := f.svc.DeleteGreeting(ctx, f.bob.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Greeting(ctx, f.bob.ID); !errors.Is(err, audio.ErrNotFound) || len(f.files(t, "greetings")) != 0 {
		t.Fatalf("after delete: %v, files %v", err, f.files(t, "greetings"))
	}
}

func TestRecording(t *testing.T) {
	ctx := context.Background()
	beep := audio.Prompt{Sound: audio.SoundBeep}
	f := newFixture(t, audio.Config{Announcement: &beep})
	start := telephony.RecordingStart{ID: "rec-1", Owner: f.bob.ID, Type: telephony.RecordingOnDemand,
		TelephonySessionID: "s-1", SessionID: "17", Legs: []string{"a", "b"}}
	if err := f.svc.StartRecording(ctx, start); err != nil {
		t.Fatal(err)
	}
	r, err := f.svc.Recording(ctx, "rec-1")
	if err != nil || r.Status != audio.StatusRecording || r.ExtensionID != f.bob.ID || r.AccountID != f.bob.AccountID ||
		r.TelephonySessionID != "s-1" || r.SessionID != "17" || r.Type != telephony.RecordingOnDemand || !r.StartTime.Equal(f.now) {
		t.Fatalf("row at start %+v %v", r, err)
	}
	if plays := f.media.pending(); len(plays) != 2 || plays[0].leg != "a" || plays[1].leg != "b" || plays[0].prompts[0] != beep {
		t.Fatalf("announcement %+v", plays)
	}
	if err := f.svc.StartRecording(ctx, start); err == nil {
		t.Fatal("started twice")
	}

	f.media.speak("rec-1", 2*time.Second)
	if err := f.svc.PauseRecording("rec-1", true); err != nil {
		t.Fatal(err)
	}
	f.media.speak("rec-1", 5*time.Second) // not recorded
	if err := f.svc.PauseRecording("rec-1", false); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetRecordingLegs("rec-1", []string{"a", "c"}); err != nil {
		t.Fatal(err)
	}
	if _, rec := f.media.lastRecording(); rec.legs[1] != "c" {
		t.Fatalf("legs %v", rec.legs)
	}
	f.media.speak("rec-1", 1500*time.Millisecond)
	f.svc.StopRecording("rec-1")
	r, err = f.svc.Recording(ctx, "rec-1")
	if err != nil || r.Status != audio.StatusCompleted || r.Duration != 3500*time.Millisecond || r.ContentType != audio.ContentOgg ||
		r.File == "" || r.Size != 4+175 {
		t.Fatalf("row at stop %+v %v", r, err)
	}
	if err := f.svc.PauseRecording("rec-1", true); err == nil {
		t.Fatal("paused a stopped recording")
	}
	if err := f.svc.DeleteRecording(ctx, "rec-1"); err != nil || len(f.files(t, "recordings")) != 0 {
		t.Fatalf("delete: %v, files %v", err, f.files(t, "recordings"))
	}
}

// TestStorageFull: a disk that cannot take the audio keeps the rows, says
// what happened, and answers telephony.ErrStorageFull.
func TestStorageFull(t *testing.T) {
	ctx := context.Background()
	full := &os.PathError{Op: "open", Path: "x.ogg", Err: syscall.ENOSPC}

	t.Run("the file cannot be created", func(t *testing.T) {
		f := newFixture(t, audio.Config{})
		f.media.failRecord = full
		err := f.svc.StartRecording(ctx, telephony.RecordingStart{ID: "rec-1", Owner: f.bob.ID, Type: telephony.RecordingAutomatic, Legs: []string{"a"}})
		if !errors.Is(err, telephony.ErrStorageFull) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("err %v, want storage full", err)
		}
		r, err := f.svc.Recording(ctx, "rec-1")
		if err != nil || r.Status != audio.StatusStorageFull || r.Error == "" || r.File != "" || r.Type != telephony.RecordingAutomatic {
			t.Fatalf("row %+v %v", r, err)
		}
	})
	t.Run("the disk fills while recording", func(t *testing.T) {
		f := newFixture(t, audio.Config{})
		if err := f.svc.StartRecording(ctx, telephony.RecordingStart{ID: "rec-2", Owner: f.bob.ID, Legs: []string{"a"}}); err != nil {
			t.Fatal(err)
		}
		f.media.speak("rec-2", time.Second)
		f.media.stop("rec-2", audio.StopError, full)
		r, err := f.svc.Recording(ctx, "rec-2")
		if err != nil || r.Status != audio.StatusStorageFull || r.File == "" || r.Duration != time.Second {
			t.Fatalf("row %+v %v: what was written is kept", r, err)
		}
	})
	t.Run("the audio dir cannot be made", func(t *testing.T) {
		f := newFixture(t, audio.Config{})
		// A file where the directory should be stands in for a disk that
		// refuses it, whoever runs the test.
		os.MkdirAll(f.db.AudioDir(), 0o700)
		if err := os.WriteFile(filepath.Join(f.db.AudioDir(), "recordings"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		err := f.svc.StartRecording(ctx, telephony.RecordingStart{ID: "rec-3", Owner: f.bob.ID, Legs: []string{"a"}})
		if err == nil {
			t.Fatal("started")
		}
		if r, _ := f.svc.Recording(ctx, "rec-3"); r.Status != audio.StatusFailed || r.Error == "" {
			t.Fatalf("row %+v", r)
		}
	})
	t.Run("a voicemail the disk refuses ends the call", func(t *testing.T) {
		f := newFixture(t, audio.Config{})
		f.media.failRecord = full
		var done counter
		if err := f.svc.TakeMessage(ctx, f.call(), done.done); err != nil {
			t.Fatal(err)
		}
		f.media.played(true)
		if done.count() != 1 || len(f.voicemail(t)) != 0 {
			t.Fatalf("done %d, messages %v", done.count(), f.voicemail(t))
		}
	})
}

func TestRetention(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, audio.Config{Retention: 24 * time.Hour})
	if err := f.svc.TakeMessage(ctx, f.call(), nil); err != nil {
		t.Fatal(err)
	}
	f.media.played(true)
	id, _ := f.media.lastRecording()
	f.media.speak(id, 2*time.Second)
	f.media.digit(id, '#')
	if err := f.svc.StartRecording(ctx, telephony.RecordingStart{ID: "rec-1", Owner: f.bob.ID, Legs: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	f.media.speak("rec-1", 2*time.Second)
	f.svc.StopRecording("rec-1")

	if v, r, err := f.svc.Sweep(ctx); v != 0 || r != 0 || err != nil {
		t.Fatalf("swept %d %d %v at once", v, r, err)
	}
	f.mu.Lock()
	f.now = f.now.Add(25 * time.Hour)
	f.mu.Unlock()
	if v, r, err := f.svc.Sweep(ctx); v != 1 || r != 1 || err != nil {
		t.Fatalf("swept %d %d %v a day later", v, r, err)
	}
	if len(f.voicemail(t)) != 0 || len(f.files(t, "")) != 0 {
		t.Fatalf("left: %v", f.files(t, ""))
	}
	if _, err := f.svc.Recording(ctx, "rec-1"); !errors.Is(err, audio.ErrNotFound) {
		t.Fatalf("recording: %v", err)
	}
}

// TestRecover: the recordings a stopped server was making end Failed, with
// what they wrote.
func TestRecover(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, audio.Config{})
	if err := f.svc.StartRecording(ctx, telephony.RecordingStart{ID: "rec-1", Owner: f.bob.ID, Legs: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	f.media.speak("rec-1", 3*time.Second)
	if r, _ := f.svc.Recording(ctx, "rec-1"); r.Content() == nil {
		t.Fatalf("content of a recording being made: %+v", r)
	}
	// The server stops; a new one starts over the same store.
	restarted := audio.New(audio.Config{Dir: f.db.AudioDir()}, newFakeMedia(), f.db, f.msgs)
	if err := restarted.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := restarted.Recording(ctx, "rec-1")
	if err != nil || r.Status != audio.StatusFailed || r.Error == "" || r.File == "" || r.Size != 4+150 ||
		r.ContentType != audio.ContentOgg || r.Content() != nil {
		t.Fatalf("recovered %+v %v", r, err)
	}
}
