package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/audio"
	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/telephony"
)

// audioFile writes a file under the audio dir and returns its relative path.
func audioFile(t *testing.T, db *DB, rel string) string {
	t.Helper()
	path := filepath.Join(db.AudioDir(), rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("OggS audio"), 0o600); err != nil {
		t.Fatal(err)
	}
	return rel
}

func exists(db *DB, rel string) bool {
	_, err := os.Stat(filepath.Join(db.AudioDir(), rel))
	return err == nil
}

func voicemail(t *testing.T, db *DB, bob messaging.Message, file string) messaging.Message {
	t.Helper()
	bob.Attachments = []messaging.Attachment{{ContentType: audio.ContentOgg, Duration: 4600 * time.Millisecond, File: file, Size: 10}}
	stored, created, err := db.AddMessages(context.Background(), []messaging.Message{bob}, nil)
	if err != nil || !created[0] {
		t.Fatal(err)
	}
	return stored[0]
}

func TestVoicemailAttachments(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	bob := demoExtensions(t, db)["102"]
	m := testMessage(bob, msgT0, "")
	m.Type, m.Direction, m.Status, m.ReadStatus = messaging.VoiceMail, messaging.Inbound, messaging.Received, messaging.Unread

	kept := voicemail(t, db, m, audioFile(t, db, "voicemail/1.ogg"))
	want := messaging.Attachment{ContentType: audio.ContentOgg, Duration: 5 * time.Second, File: "voicemail/1.ogg", Size: 10}
	if len(kept.Attachments) != 1 || kept.Attachments[0].ID == "" {
		t.Fatalf("stored %+v", kept.Attachments)
	}
	want.ID = kept.Attachments[0].ID
	if kept.Attachments[0] != want {
		t.Fatalf("stored %+v, want %+v", kept.Attachments[0], want)
	}
	got, err := db.Message(ctx, kept.ID)
	if err != nil || len(got.Attachments) != 1 || got.Attachments[0] != want {
		t.Fatalf("read back %+v, %v", got.Attachments, err)
	}
	page, err := db.QueryMessages(ctx, messaging.Query{ExtensionID: bob.ID, Limit: 10})
	if err != nil || len(page.Messages) != 1 || len(page.Messages[0].Attachments) != 1 {
		t.Fatalf("query %+v, %v", page, err)
	}

	t.Run("read status keeps the file", func(t *testing.T) {
		m, _, err := db.UpdateMessage(ctx, kept.ID, func(m *messaging.Message) bool { m.ReadStatus = messaging.Read; return true })
		if err != nil || len(m.Attachments) != 1 || !exists(db, "voicemail/1.ogg") {
			t.Fatalf("%+v %v", m, err)
		}
	})
	t.Run("delete removes the file", func(t *testing.T) {
		m, _, err := db.UpdateMessage(ctx, kept.ID, func(m *messaging.Message) bool { m.Availability = messaging.Deleted; return true })
		if err != nil || len(m.Attachments) != 0 || exists(db, "voicemail/1.ogg") {
			t.Fatalf("%+v %v; file there: %v", m, err, exists(db, "voicemail/1.ogg"))
		}
		if got, _ := db.Message(ctx, kept.ID); len(got.Attachments) != 0 || got.Availability != messaging.Deleted {
			t.Fatalf("read back %+v", got)
		}
	})
	t.Run("purge removes old messages and files", func(t *testing.T) {
		old := voicemail(t, db, m, audioFile(t, db, "voicemail/2.ogg"))
		m2 := m
		m2.CreationTime, m2.LastModifiedTime = msgT0.Add(48*time.Hour), msgT0.Add(48*time.Hour)
		recent := voicemail(t, db, m2, audioFile(t, db, "voicemail/3.ogg"))
		sms := testMessage(bob, msgT0, "an old SMS stays")
		if _, _, err := db.AddMessages(ctx, []messaging.Message{sms}, nil); err != nil {
			t.Fatal(err)
		}
		n, err := db.PurgeMessages(ctx, messaging.VoiceMail, msgT0.Add(time.Hour))
		if err != nil || n != 2 { // the deleted one and old
			t.Fatalf("purged %d, %v", n, err)
		}
		if _, err := db.Message(ctx, old.ID); !errors.Is(err, messaging.ErrNotFound) || exists(db, "voicemail/2.ogg") {
			t.Fatalf("old one: %v, file there %v", err, exists(db, "voicemail/2.ogg"))
		}
		if got, err := db.Message(ctx, recent.ID); err != nil || len(got.Attachments) != 1 || !exists(db, "voicemail/3.ogg") {
			t.Fatalf("recent one: %+v %v", got, err)
		}
		page, _ := db.QueryMessages(ctx, messaging.Query{ExtensionID: bob.ID, Types: []messaging.Type{messaging.SMS}, Limit: 10})
		if page.Total != 1 {
			t.Fatalf("SMS left: %d", page.Total)
		}
	})
}

func TestRecordings(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	bob := demoExtensions(t, db)["102"]
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := audio.Recording{ID: "r1", ExtensionID: bob.ID, TelephonySessionID: "s-1", SessionID: "17", Type: telephony.RecordingOnDemand,
		StartTime: start, Status: audio.StatusRecording}
	if err := db.AddRecording(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := db.Recording(ctx, "r1")
	r.AccountID = bob.AccountID
	if err != nil || got != r {
		t.Fatalf("started: %+v %v, want %+v", got, err, r)
	}
	r.File, r.ContentType, r.Duration, r.Size, r.Status = audioFile(t, db, "recordings/r1.ogg"), audio.ContentOgg, 2500*time.Millisecond, 10, audio.StatusCompleted
	if err := db.UpdateRecording(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Recording(ctx, "r1"); err != nil || got != r {
		t.Fatalf("completed: %+v %v, want %+v", got, err, r)
	}
	if _, err := db.Recording(ctx, "nope"); !errors.Is(err, audio.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	if err := db.UpdateRecording(ctx, audio.Recording{ID: "nope"}); !errors.Is(err, audio.ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}

	// A recording the disk could not take keeps its row.
	full := audio.Recording{ID: "r2", ExtensionID: bob.ID, Type: telephony.RecordingAutomatic, StartTime: start, Status: audio.StatusRecording}
	if err := db.AddRecording(ctx, full); err != nil {
		t.Fatal(err)
	}
	full.Status, full.Error = audio.StatusStorageFull, "no space left on device"
	if err := db.UpdateRecording(ctx, full); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Recording(ctx, "r2"); got.Status != audio.StatusStorageFull || got.Error == "" {
		t.Fatalf("storage full: %+v", got)
	}
	// One still being made is not purged.
	live := audio.Recording{ID: "r3", ExtensionID: bob.ID, Type: telephony.RecordingOnDemand, StartTime: start, Status: audio.StatusRecording}
	if err := db.AddRecording(ctx, live); err != nil {
		t.Fatal(err)
	}

	if err := db.DeleteRecording(ctx, "r1"); err != nil || exists(db, "recordings/r1.ogg") {
		t.Fatalf("delete: %v, file there %v", err, exists(db, "recordings/r1.ogg"))
	}
	if err := db.DeleteRecording(ctx, "r1"); !errors.Is(err, audio.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	if n, err := db.PurgeRecordings(ctx, start.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("purge: %d %v", n, err)
	}
	if _, err := db.Recording(ctx, "r3"); err != nil {
		t.Fatalf("the live one went: %v", err)
	}
}

func TestGreetings(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	bob := demoExtensions(t, db)["102"]
	if _, err := db.Greeting(ctx, bob.ID); !errors.Is(err, audio.ErrNotFound) {
		t.Fatalf("none yet: %v", err)
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	g := audio.Greeting{ExtensionID: bob.ID, File: audioFile(t, db, "greetings/a.ogg"), ContentType: audio.ContentOgg, Duration: 3 * time.Second, Updated: at}
	if err := db.SetGreeting(ctx, g); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Greeting(ctx, bob.ID); err != nil || got != g {
		t.Fatalf("got %+v %v", got, err)
	}
	g2 := g
	g2.File = audioFile(t, db, "greetings/b.ogg")
	if err := db.SetGreeting(ctx, g2); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Greeting(ctx, bob.ID); got != g2 || exists(db, "greetings/a.ogg") || !exists(db, "greetings/b.ogg") {
		t.Fatalf("replaced: %+v; old file there %v", got, exists(db, "greetings/a.ogg"))
	}
	if err := db.DeleteGreeting(ctx, bob.ID); err != nil || exists(db, "greetings/b.ogg") {
		t.Fatalf("delete: %v", err)
	}
	if err := db.DeleteGreeting(ctx, bob.ID); !errors.Is(err, audio.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestCallLogRecording(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	recs := []telephony.CallRecord{
		{ID: "p1", Extension: 101, SessionID: "1", TelephonySessionID: "s-1", PartyID: "p1", StartTime: at, Type: "Voice",
			Direction: telephony.Outbound, Action: "VoIP Call", Result: telephony.ResultConnected,
			Recording: &telephony.RecordingRef{ID: "r1", Type: telephony.RecordingOnDemand}},
		{ID: "p2", Extension: 102, SessionID: "1", TelephonySessionID: "s-1", PartyID: "p2", StartTime: at, Type: "Voice",
			Direction: telephony.Inbound, Action: "VoIP Call", Result: telephony.ResultConnected},
	}
	if err := db.AddCallRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	got, ok, err := db.CallRecord(ctx, "p1")
	if err != nil || !ok || got.Recording == nil || *got.Recording != *recs[0].Recording {
		t.Fatalf("owner's record: %+v %v", got.Recording, err)
	}
	if got, _, _ := db.CallRecord(ctx, "p2"); got.Recording != nil {
		t.Fatalf("other record has %+v", got.Recording)
	}
}
