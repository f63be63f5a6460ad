package web

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/audio"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/store"
	"github.com/callbridge/widget-server/internal/telephony"
)

// TestWidgetAudio: the widget gets its user's voicemail and recordings,
// with Range, and nobody else's.
func TestWidgetAudio(t *testing.T) {
	ctx := context.Background()
	var db *store.DB
	var msgs *messaging.Service
	env := newTestEnvWith(t, func(d *Deps) {
		db = d.Apps.(*store.DB)
		if err := d.Directory.SeedDemo(ctx); err != nil {
			t.Fatal(err)
		}
		msgs = messaging.New(messaging.Config{}, db, db)
		d.Messages = msgs
		d.Audio = audio.New(audio.Config{Dir: db.AudioDir()}, nil, db, msgs)
	})
	acct, _ := db.AccountByMainNumber(ctx, identity.DemoMainNumber)
	alice, _ := db.ExtensionByNumber(ctx, acct.ID, "101")
	bob, _ := db.ExtensionByNumber(ctx, acct.ID, "102")
	carol, _ := db.ExtensionByNumber(ctx, acct.ID, "103")
	content := []byte("OggS voicemail audio, a few bytes of it")
	write := func(rel string) string {
		path := filepath.Join(db.AudioDir(), rel)
		os.MkdirAll(filepath.Dir(path), 0o700)
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		return rel
	}
	vm, err := msgs.DepositVoicemail(ctx, messaging.VoicemailDeposit{Extension: bob.ID, From: messaging.Party{PhoneNumber: "+15550100"},
		File: write("voicemail/1.ogg"), ContentType: audio.ContentOgg, Duration: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddRecording(ctx, audio.Recording{ID: "rec-1", ExtensionID: bob.ID, Type: telephony.RecordingOnDemand,
		StartTime: time.Now(), Status: audio.StatusCompleted, File: write("recordings/1.wav"), ContentType: audio.ContentWAV}); err != nil {
		t.Fatal(err)
	}
	as := func(ext identity.Extension, h func(echo.Context) error, params []string, header ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/widget/x", nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		c := echo.New().NewContext(req, rec)
		var names, values []string
		for i := 0; i+1 < len(params); i += 2 {
			names, values = append(names, params[i]), append(values, params[i+1])
		}
		c.SetParamNames(names...)
		c.SetParamValues(values...)
		c.Set(userKey, widgetUser{Account: acct, Extension: ext})
		if err := h(c); err != nil {
			httperror.Handler(env.srv.log)(err, c)
		}
		return rec
	}
	att := vm.Attachments[0].ID
	s := env.srv

	rec := as(bob, s.widgetMessageContent, []string{"id", vm.ID, "att", att}, "Range", "bytes=0-3")
	if rec.Code != 206 || rec.Body.String() != "OggS" || rec.Header().Get("Content-Type") != "audio/ogg" {
		t.Fatalf("bob's voicemail: %d %v %q", rec.Code, rec.Header(), rec.Body)
	}
	if rec := as(alice, s.widgetMessageContent, []string{"id", vm.ID, "att", att}); rec.Code != 404 {
		t.Fatalf("alice, bob's voicemail: %d", rec.Code)
	}
	if rec := as(bob, s.widgetMessageContent, []string{"id", vm.ID, "att", "0"}); rec.Code != 404 {
		t.Fatalf("no such attachment: %d", rec.Code)
	}
	rec = as(bob, s.widgetRecordingContent, []string{"id", "rec-1"})
	if rec.Code != 200 || rec.Body.String() != string(content) || rec.Header().Get("Content-Type") != "audio/wav" {
		t.Fatalf("bob's recording: %d %v", rec.Code, rec.Header())
	}
	if rec := as(alice, s.widgetRecordingContent, []string{"id", "rec-1"}); rec.Code != 200 {
		t.Fatalf("admin alice, bob's recording: %d", rec.Code)
	}
	if rec := as(carol, s.widgetRecordingContent, []string{"id", "rec-1"}); rec.Code != 404 {
		t.Fatalf("carol, bob's recording: %d", rec.Code)
	}

	// The list names the attachment.
	rec = httptest.NewRecorder()
	c := echo.New().NewContext(httptest.NewRequest("GET", "/widget/messages", nil), rec)
	if err := s.listWidgetMessages(c, bob); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Records []widgetMessage `json:"records"`
	}
	json.Unmarshal(rec.Body.Bytes(), &list)
	want := widgetAttachment{ID: att, Type: "AudioRecording", ContentType: "audio/ogg", VMDuration: 3,
		URI: env.srv.cfg.PublicURL + "/restapi/v1.0/account/" + strconv.FormatInt(acct.ID, 10) + "/extension/" +
			strconv.FormatInt(bob.ID, 10) + "/message-store/" + vm.ID + "/content/" + att}
	if len(list.Records) != 1 || list.Records[0].Type != "VoiceMail" || len(list.Records[0].Attachments) != 1 || list.Records[0].Attachments[0] != want {
		t.Fatalf("list %+v, want %+v", list.Records, want)
	}
}
