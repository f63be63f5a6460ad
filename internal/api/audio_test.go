package api

import (
	"context"
	"encoding/json"
	"net/http"
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

// audioEnv is messageEnv with the audio service, a voicemail for Bob and
// recordings of Bob.
type audioEnv struct {
	*messageEnv
	db      *store.DB
	bob     identity.Extension
	carol   identity.Extension
	content []byte // the voicemail's and the recording's audio
	vm      messaging.Message
}

func newAudioEnv(t *testing.T) *audioEnv {
	t.Helper()
	ae := &audioEnv{content: []byte("OggS\x00\x02 0123456789abcdefghijklmnopqrstuvwxyz")}
	ae.messageEnv = newMessageEnvWith(t, func(d *Deps, db *store.DB) {
		ae.db = db
		d.Audio = audio.New(audio.Config{Dir: db.AudioDir()}, nil, db, nil)
	})
	ctx := context.Background()
	var err error
	if ae.bob, err = ae.db.ExtensionByNumber(ctx, ae.acct.ID, "102"); err != nil {
		t.Fatal(err)
	}
	if ae.carol, err = ae.db.ExtensionByNumber(ctx, ae.acct.ID, "103"); err != nil {
		t.Fatal(err)
	}
	write := func(rel string) string {
		path := filepath.Join(ae.db.AudioDir(), rel)
		os.MkdirAll(filepath.Dir(path), 0o700)
		if err := os.WriteFile(path, ae.content, 0o600); err != nil {
			t.Fatal(err)
		}
		return rel
	}
	msgs := ae.srv.Messages.(*messaging.Service)
	if ae.vm, err = msgs.DepositVoicemail(ctx, messaging.VoicemailDeposit{Extension: ae.bob.ID,
		From: messaging.Party{PhoneNumber: "+15550100"}, File: write("voicemail/1.ogg"), ContentType: audio.ContentOgg,
		Duration: 7 * time.Second, Size: int64(len(ae.content))}); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	for _, r := range []audio.Recording{
		{ID: "rec-1", ExtensionID: ae.bob.ID, Type: telephony.RecordingOnDemand, StartTime: start, Status: audio.StatusCompleted,
			File: write("recordings/1.wav"), ContentType: audio.ContentWAV, Duration: 61400 * time.Millisecond, Size: int64(len(ae.content))},
		{ID: "rec-full", ExtensionID: ae.bob.ID, Type: telephony.RecordingAutomatic, StartTime: start, Status: audio.StatusStorageFull},
		{ID: "rec-live", ExtensionID: ae.bob.ID, Type: telephony.RecordingOnDemand, StartTime: start, Status: audio.StatusRecording},
	} {
		if err := ae.db.AddRecording(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	return ae
}

// as runs one handler as ext's API request for path would, with the path
// parameters and request headers given as name, value pairs.
func (ae *audioEnv) as(ext identity.Extension, h func(echo.Context) error, path string, params []string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
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
	c.Set(string(extensionKey), apiCaller{ae.acct, ext})
	if err := h(c); err != nil {
		httperror.Handler(ae.srv.log)(err, c)
	}
	return rec
}

func errorCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var body httperror.Body
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%d %q: not an error body", rec.Code, rec.Body)
	}
	return body.ErrorCode
}

func TestMessageContent(t *testing.T) {
	ae := newAudioEnv(t)
	att := ae.vm.Attachments[0]
	content := func(who identity.Extension, ext, msg, attID string, header ...string) *httptest.ResponseRecorder {
		return ae.as(who, ae.srv.apiMessageContent, "/content", []string{"accountId", "~", "extensionId", ext,
			"messageId", msg, "attachmentId", attID}, header...)
	}
	bobID := strconv.FormatInt(ae.bob.ID, 10)

	rec := content(ae.bob, "~", ae.vm.ID, att.ID)
	if rec.Code != 200 || rec.Body.String() != string(ae.content) || rec.Header().Get("Content-Type") != "audio/ogg" ||
		rec.Header().Get("Accept-Ranges") != "bytes" {
		t.Fatalf("owner: %d %v %q", rec.Code, rec.Header(), rec.Body)
	}
	rec = content(ae.bob, "~", ae.vm.ID, att.ID, "Range", "bytes=4-9")
	if rec.Code != http.StatusPartialContent || rec.Body.String() != string(ae.content[4:10]) ||
		rec.Header().Get("Content-Range") != "bytes 4-9/"+strconv.Itoa(len(ae.content)) || rec.Header().Get("Content-Type") != "audio/ogg" {
		t.Fatalf("range: %d %v %q", rec.Code, rec.Header(), rec.Body)
	}
	if rec := content(ae.bob, "~", ae.vm.ID, att.ID, "Range", "bytes=1000-"); rec.Code != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("range past the end: %d", rec.Code)
	}
	// An administrator reaches it through the extension's id.
	if rec := content(ae.alice, bobID, ae.vm.ID, att.ID); rec.Code != 200 || rec.Body.String() != string(ae.content) {
		t.Fatalf("admin: %d %q", rec.Code, rec.Body)
	}
	// Another user: not theirs.
	if rec := content(ae.carol, "~", ae.vm.ID, att.ID); rec.Code != 404 || errorCode(t, rec) != "NotFound" {
		t.Fatalf("carol's own store: %d %s", rec.Code, rec.Body)
	}
	if rec := content(ae.carol, bobID, ae.vm.ID, att.ID); rec.Code != 403 || errorCode(t, rec) != "InsufficientPermissions" {
		t.Fatalf("carol through bob's id: %d %s", rec.Code, rec.Body)
	}
	if rec := content(ae.bob, "~", ae.vm.ID, "999"); rec.Code != 404 {
		t.Fatalf("unknown attachment: %d", rec.Code)
	}

	// The message names its attachment and its uri.
	rec = ae.as(ae.bob, ae.srv.apiGetMessage, "/m", []string{"accountId", "~", "extensionId", "~", "messageId", ae.vm.ID})
	var m struct {
		Type        string          `json:"type"`
		ReadStatus  string          `json:"readStatus"`
		Attachments []apiAttachment `json:"attachments"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	want := apiAttachment{ID: att.ID, Type: "AudioRecording", ContentType: "audio/ogg", VMDuration: 7,
		URI: "http://localhost:8080/restapi/v1.0/account/" + strconv.FormatInt(ae.acct.ID, 10) + "/extension/" + bobID +
			"/message-store/" + ae.vm.ID + "/content/" + att.ID}
	if m.Type != "VoiceMail" || m.ReadStatus != "Unread" || len(m.Attachments) != 1 || m.Attachments[0] != want {
		t.Fatalf("message %+v, want %+v", m, want)
	}

	// Deleted, it has no content.
	ae.as(ae.bob, ae.srv.apiDeleteMessage, "/m", []string{"accountId", "~", "extensionId", "~", "messageId", ae.vm.ID})
	if rec := content(ae.bob, "~", ae.vm.ID, att.ID); rec.Code != 404 {
		t.Fatalf("deleted: %d", rec.Code)
	}
}

func TestRecordingEndpoints(t *testing.T) {
	ae := newAudioEnv(t)
	get := func(who identity.Extension, h func(echo.Context) error, id string, header ...string) *httptest.ResponseRecorder {
		return ae.as(who, h, "/r", []string{"accountId", "~", "recordingId", id}, header...)
	}
	rec := get(ae.bob, ae.srv.apiRecording, "rec-1")
	var r apiRecordingRecord
	json.Unmarshal(rec.Body.Bytes(), &r)
	uri := "http://localhost:8080/restapi/v1.0/account/" + strconv.FormatInt(ae.acct.ID, 10) + "/recording/rec-1"
	want := apiRecordingRecord{URI: uri, ID: "rec-1", ContentURI: uri + "/content", ContentType: "audio/wav", Duration: 61,
		Type: "OnDemand", StartTime: "2026-11-21T10:00:00.000Z", Status: "Completed"}
	if rec.Code != 200 || r != want {
		t.Fatalf("metadata %d %+v, want %+v", rec.Code, r, want)
	}

	rec = get(ae.bob, ae.srv.apiRecordingContent, "rec-1", "Range", "bytes=-5")
	if rec.Code != 206 || rec.Body.String() != string(ae.content[len(ae.content)-5:]) || rec.Header().Get("Content-Type") != "audio/wav" {
		t.Fatalf("range: %d %v %q", rec.Code, rec.Header(), rec.Body)
	}
	if rec := get(ae.alice, ae.srv.apiRecordingContent, "rec-1"); rec.Code != 200 || rec.Body.String() != string(ae.content) {
		t.Fatalf("admin: %d", rec.Code)
	}
	for _, h := range []func(echo.Context) error{ae.srv.apiRecording, ae.srv.apiRecordingContent} {
		if rec := get(ae.carol, h, "rec-1"); rec.Code != 404 || errorCode(t, rec) != "NotFound" {
			t.Fatalf("another user: %d %s", rec.Code, rec.Body)
		}
		if rec := get(ae.bob, h, "nope"); rec.Code != 404 {
			t.Fatalf("unknown: %d", rec.Code)
		}
	}
	// The disk was full: the metadata stays, the content is the
	// documented 503.
	if rec := get(ae.bob, ae.srv.apiRecording, "rec-full"); rec.Code != 200 {
		t.Fatalf("storage full metadata: %d", rec.Code)
	}
	if rec := get(ae.bob, ae.srv.apiRecordingContent, "rec-full"); rec.Code != 503 || errorCode(t, rec) != "AudioStorageFull" {
		t.Fatalf("storage full content: %d %s", rec.Code, rec.Body)
	}
	if rec := get(ae.bob, ae.srv.apiRecordingContent, "rec-live"); rec.Code != 409 || errorCode(t, rec) != "RecordingInProgress" {
		t.Fatalf("live content: %d %s", rec.Code, rec.Body)
	}
	// Another account's path is not found.
	rec = ae.as(ae.bob, ae.srv.apiRecording, "/r", []string{"accountId", "12345", "recordingId", "rec-1"})
	if rec.Code != 404 {
		t.Fatalf("other account: %d", rec.Code)
	}
}

// TestCallLogRecording: the owner's call-log record names its recording.
func TestCallLogRecordingRef(t *testing.T) {
	srv := NewServer(Config{PublicURL: "https://pbx.example"}, Deps{})
	r := srv.apiRecord(telephony.CallRecord{ID: "p1", Extension: 7, Recording: &telephony.RecordingRef{ID: "rec-1", Type: "Automatic"}},
		3, "u", false)
	want := apiRecordingRef{ID: "rec-1", URI: "https://pbx.example/restapi/v1.0/account/3/recording/rec-1", Type: "Automatic",
		ContentURI: "https://pbx.example/restapi/v1.0/account/3/recording/rec-1/content"}
	if r.Recording == nil || *r.Recording != want {
		t.Fatalf("%+v", r.Recording)
	}
	if r := srv.apiRecord(telephony.CallRecord{ID: "p2"}, 3, "u", false); r.Recording != nil {
		t.Fatalf("no recording: %+v", r.Recording)
	}
}
