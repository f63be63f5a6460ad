// Package audio owns the audio the server keeps: voicemail (the caller
// hears the extension's greeting and a beep and is recorded, and the
// message lands in the message store), call recordings (a row per
// recording, written when it starts and completed when it stops),
// voicemail greetings, and the retention period that removes old audio.
// Service implements telephony.Mailbox for the switch.
//
// It drives the media gateway through the small Media interface declared
// here, keeps rows through Store (internal/store implements it) and
// messages through internal/messaging. It must not import internal/media,
// internal/store, web, api, bridge or echo; of HTTP it knows only how a
// file is served (Serve).
package audio

import (
	"errors"
	"fmt"
	"time"

	"github.com/callbridge/widget-server/internal/telephony"
)

// RecordingStatus is where a recording stands.
type RecordingStatus string

// Recording statuses.
const (
	// StatusRecording: it has started and not stopped yet.
	StatusRecording RecordingStatus = "Recording"
	// StatusCompleted: it stopped and its file is complete.
	StatusCompleted RecordingStatus = "Completed"
	// StatusStorageFull: the disk could not take it; what was kept, if
	// anything, is in File.
	StatusStorageFull RecordingStatus = "StorageFull"
	// StatusFailed: the recording failed for another reason (Error).
	StatusFailed RecordingStatus = "Failed"
)

// Recording is a call recording (seeds/001 call log recording): its row is
// written when it starts, so that a recording the disk could not take is
// still known.
type Recording struct {
	ID                 string // the switch's recording id
	AccountID          int64
	ExtensionID        int64 // the owner
	TelephonySessionID string
	SessionID          string
	Type               string // telephony.RecordingOnDemand or RecordingAutomatic
	ContentType        string // audio/ogg or audio/wav; "" until the file is made
	Duration           time.Duration
	File               string // relative to the audio dir; "" when none was made
	Size               int64  // bytes
	StartTime          time.Time
	Status             RecordingStatus
	Error              string // what went wrong, for Failed and StorageFull
}

// Greeting is an extension's own voicemail greeting.
type Greeting struct {
	ExtensionID int64
	File        string // relative to the audio dir
	ContentType string
	Duration    time.Duration
	Updated     time.Time
}

// ErrNotFound is an unknown recording, or an extension with no greeting of
// its own.
var ErrNotFound = errors.New("no such recording or greeting")

// Content types of the files the gateway writes.
const (
	ContentOgg = "audio/ogg"
	ContentWAV = "audio/wav"
)

// Why a recording has no content to serve (Recording.Content).
var (
	ErrInProgress = errors.New("the recording is still being made")
	ErrNoAudio    = errors.New("the recording kept no audio")
)

// Content says whether the recording has audio to serve: nil when it has
// a file; ErrInProgress while it is being made; for one that kept nothing,
// an error wrapping telephony.ErrStorageFull when the disk was full, else
// ErrNoAudio. What the disk let a recording keep before it filled is
// served.
func (r Recording) Content() error {
	switch {
	case r.Status == StatusRecording:
		return fmt.Errorf("recording %s: %w", r.ID, ErrInProgress)
	case r.File != "":
		return nil
	case r.Status == StatusStorageFull:
		return fmt.Errorf("recording %s: %w", r.ID, telephony.ErrStorageFull)
	}
	return fmt.Errorf("recording %s: %w", r.ID, ErrNoAudio)
}
