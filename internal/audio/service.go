package audio

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/telephony"
)

var _ telephony.Mailbox = (*Service)(nil)

// Defaults of Config.
const (
	DefaultVoicemailLimit = 3 * time.Minute
	DefaultGreetingLimit  = 2 * time.Minute
	// DefaultMinMessage is the least audio a voicemail keeps: a caller who
	// hung up at the beep left no message.
	DefaultMinMessage = time.Second
	// minGreeting is the least audio a recorded greeting keeps.
	minGreeting = 500 * time.Millisecond
	// SweepInterval is how often Run applies the retention period.
	SweepInterval = time.Hour
)

// Subdirectories of the audio dir.
const (
	voicemailDir  = "voicemail"
	recordingsDir = "recordings"
	greetingsDir  = "greetings"
)

// Config sets up the service.
type Config struct {
	// Dir is the audio dir (store.DB.AudioDir): the rows name files
	// relative to it.
	Dir string
	// VoicemailLimit ends a voicemail message (default 3 minutes);
	// GreetingLimit a greeting being recorded (default 2 minutes).
	VoicemailLimit time.Duration
	GreetingLimit  time.Duration
	// MinMessage is the least audio a voicemail keeps (default 1 s).
	MinMessage time.Duration
	// Retention is how long voicemail and recordings are kept; 0 keeps
	// them until they are deleted.
	Retention time.Duration
	// Announcement, when set, is played to every leg of a call when its
	// recording starts, to tell the other party (some jurisdictions
	// require it): a file, or SoundBeep.
	Announcement *Prompt
	Logger       *slog.Logger
	Now          func() time.Time
}

// Store keeps the recordings' and greetings' rows; deleting a row deletes
// its file. internal/store implements it.
type Store interface {
	AddRecording(ctx context.Context, r Recording) error
	UpdateRecording(ctx context.Context, r Recording) error
	// Recording returns a row; ErrNotFound if none.
	Recording(ctx context.Context, id string) (Recording, error)
	DeleteRecording(ctx context.Context, id string) error
	// UnfinishedRecordings returns the rows still Recording.
	UnfinishedRecordings(ctx context.Context) ([]Recording, error)
	// PurgeRecordings removes those that started before cutoff and are
	// not being made.
	PurgeRecordings(ctx context.Context, cutoff time.Time) (int, error)
	// Greeting returns the extension's own greeting; ErrNotFound if none.
	Greeting(ctx context.Context, extensionID int64) (Greeting, error)
	// SetGreeting replaces the extension's greeting, and removes the old
	// file.
	SetGreeting(ctx context.Context, g Greeting) error
	DeleteGreeting(ctx context.Context, extensionID int64) error
}

// Messages is where voicemail lands: internal/messaging's Service.
type Messages interface {
	DepositVoicemail(ctx context.Context, d messaging.VoicemailDeposit) (messaging.Message, error)
	PurgeVoicemail(ctx context.Context, cutoff time.Time) (int, error)
}

// Service takes voicemail, records calls and greetings, serves the files and
// applies the retention period.
type Service struct {
	cfg   Config
	media Media
	store Store
	msgs  Messages
	log   *slog.Logger

	mu        sync.Mutex
	recording map[string]chan struct{} // recordings being made: closed once the row is completed
}

// New returns the service; Run applies the retention period.
func New(cfg Config, media Media, store Store, msgs Messages) *Service {
	if cfg.VoicemailLimit <= 0 {
		cfg.VoicemailLimit = DefaultVoicemailLimit
	}
	if cfg.GreetingLimit <= 0 {
		cfg.GreetingLimit = DefaultGreetingLimit
	}
	if cfg.MinMessage <= 0 {
		cfg.MinMessage = DefaultMinMessage
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Service{cfg: cfg, media: media, store: store, msgs: msgs, log: cfg.Logger, recording: map[string]chan struct{}{}}
}

// newName is a new file name: random, so that nothing guesses another's.
func newName() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// IsStorageFull reports whether err says the disk cannot take more: no
// space, over quota, or read-only.
func IsStorageFull(err error) bool {
	return errors.Is(err, telephony.ErrStorageFull) || errors.Is(err, syscall.ENOSPC) ||
		errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EROFS)
}

// storageError is err as the switch and the API see it: wrapping
// telephony.ErrStorageFull when the disk is full.
func storageError(what string, err error) error {
	if IsStorageFull(err) && !errors.Is(err, telephony.ErrStorageFull) {
		return fmt.Errorf("%s: %w (%w)", what, telephony.ErrStorageFull, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// base makes the directory of a new file and returns the file's path
// without extension: sub/<extension>/<random name>.
func (s *Service) base(sub string, extension int64) (string, error) {
	dir := filepath.Join(s.cfg.Dir, sub, fmt.Sprint(extension))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", storageError("audio dir", err)
	}
	return filepath.Join(dir, newName()), nil
}

// rel is path relative to the audio dir, as the rows keep it.
func (s *Service) rel(path string) (string, bool) {
	r, err := filepath.Rel(s.cfg.Dir, path)
	return r, err == nil && filepath.IsLocal(r)
}

// kept returns the size of the file a recording wrote, and false when there
// is none.
func kept(path string) (int64, bool) {
	if path == "" {
		return 0, false
	}
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return 0, false
	}
	return fi.Size(), true
}

// remove deletes a file that is not kept.
func (s *Service) remove(path string) {
	if path == "" {
		return
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("audio file not removed", slog.String("path", path), slog.Any("err", err))
	}
}

// Open opens a file a row names (relative to the audio dir) for serving;
// ErrNotFound when it is not there.
func (s *Service) Open(file string) (*os.File, os.FileInfo, error) {
	if file == "" || !filepath.IsLocal(file) {
		return nil, nil, fmt.Errorf("audio file %q: %w", file, ErrNotFound)
	}
	f, err := os.Open(filepath.Join(s.cfg.Dir, file))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("audio file %q: %w", file, ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("audio file %q: %w", file, err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("audio file %q: %w", file, ErrNotFound)
	}
	return f, fi, nil
}

// Serve answers a request for a file a row names with its content: Range
// requests, conditional requests and HEAD as http.ServeContent does them,
// with the row's content type. ErrNotFound, before anything is written,
// when the file is not there.
func (s *Service) Serve(w http.ResponseWriter, r *http.Request, file, contentType string) error {
	f, fi, err := s.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	h := w.Header()
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "private, no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, filepath.Base(file), fi.ModTime(), f)
	return nil
}
