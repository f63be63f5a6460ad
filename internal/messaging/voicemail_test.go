package messaging_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/messaging"
)

// TestDepositVoicemail: a voicemail is an Inbound VoiceMail message, Unread
// and Received, with its audio as one attachment; it is told of once, as
// new, and deleting it removes its file.
func TestDepositVoicemail(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, messaging.Config{})
	bob := f.exts["102"]
	file := filepath.Join("voicemail", "v1.ogg")
	path := filepath.Join(f.db.AudioDir(), file)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("OggS"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := f.svc.DepositVoicemail(ctx, messaging.VoicemailDeposit{Extension: bob.ID,
		From: messaging.Party{PhoneNumber: "+15550100", Name: "Tone line"}, File: file, ContentType: "audio/ogg",
		Duration: 4200 * time.Millisecond, Size: 4})
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != messaging.VoiceMail || m.Direction != messaging.Inbound || m.ReadStatus != messaging.Unread ||
		m.Status != messaging.Received || m.Availability != messaging.Alive || m.ExtensionID != bob.ID || m.AccountID != bob.AccountID {
		t.Fatalf("message %+v", m)
	}
	if len(m.To) != 1 || m.To[0].ExtensionNumber != "102" || m.To[0].Name != bob.Name {
		t.Fatalf("to %+v", m.To)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].ID == "" || m.Attachments[0].Duration != 4*time.Second ||
		m.Attachments[0].ContentType != "audio/ogg" {
		t.Fatalf("attachments %+v", m.Attachments)
	}
	if p := messaging.AttachmentPath(m, m.Attachments[0]); p != "/restapi/v1.0/account/"+itoa(bob.AccountID)+
		"/extension/"+itoa(bob.ID)+"/message-store/"+m.ID+"/content/"+m.Attachments[0].ID {
		t.Fatalf("path %s", p)
	}
	changes := f.changesOf(m.ID)
	if len(changes) != 1 || !changes[0].New || len(changes[0].Message.Attachments) != 1 {
		t.Fatalf("changes %+v, want one new message", changes)
	}
	// The bridge turns it into rc-message-updated-notify and
	// rc-inbound-message-notify, once each.
	if evs := bridge.MessageEvents(changes[0]); len(evs) != 2 {
		t.Fatalf("events %+v", evs)
	}
	unread, err := f.svc.Messages(ctx, messaging.Query{ExtensionID: bob.ID, ReadStatuses: []messaging.ReadStatus{messaging.Unread},
		Types: []messaging.Type{messaging.VoiceMail}, Limit: 10})
	if err != nil || unread.Total != 1 {
		t.Fatalf("unread voicemail: %+v %v", unread, err)
	}

	if _, err := f.svc.Delete(ctx, bob.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the file is still there: %v", err)
	}

	if _, err := f.svc.DepositVoicemail(ctx, messaging.VoicemailDeposit{Extension: bob.ID}); err == nil {
		t.Fatal("a deposit without audio was taken")
	}
}

// TestPurgeVoicemail: the retention period removes old voicemail only.
func TestPurgeVoicemail(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	f := newFixture(t, messaging.Config{Now: func() time.Time { return now }})
	bob := f.exts["102"]
	m, err := f.svc.DepositVoicemail(ctx, messaging.VoicemailDeposit{Extension: bob.ID, From: messaging.Party{PhoneNumber: "+15550100"},
		File: "voicemail/x.ogg", ContentType: "audio/ogg", Duration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.svc.PurgeVoicemail(ctx, now); err != nil || n != 0 {
		t.Fatalf("purged %d %v at its creation time", n, err)
	}
	if n, err := f.svc.PurgeVoicemail(ctx, now.Add(time.Millisecond)); err != nil || n != 1 {
		t.Fatalf("purged %d %v", n, err)
	}
	if _, err := f.svc.Message(ctx, bob.ID, m.ID); err == nil {
		t.Fatal("still there")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
