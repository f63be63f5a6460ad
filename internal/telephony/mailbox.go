package telephony

import (
	"context"
	"errors"
	"time"
)

// Voicemail and call recording as the switch sees them. The switch decides
// when a caller reaches voicemail and when a call is recorded; the audio
// (greetings, beeps, files, messages, recordings' rows) is the Mailbox's.

// ErrNoMailbox: voicemail or recording is not available on this server.
var ErrNoMailbox = errors.New("voicemail and recording not available")

// ErrStorageFull: the audio cannot be kept, the disk is full.
var ErrStorageFull = errors.New("audio storage full")

// RecordStatus is the state of a call's recording (Session.Recording).
type RecordStatus string

// Recording states.
const (
	RecordIdle      RecordStatus = ""
	RecordRecording RecordStatus = "Recording"
	RecordPaused    RecordStatus = "Paused"
)

// Recording types (seeds/001 call log recording.type).
const (
	RecordingOnDemand  = "OnDemand"
	RecordingAutomatic = "Automatic"
)

// Recording is the recording of a call while it is made.
type Recording struct {
	ID      string       // the recording's id in the call log and the API
	Status  RecordStatus // Recording or Paused
	Type    string       // RecordingOnDemand or RecordingAutomatic
	Owner   int64        // the extension whose recording it is
	Started time.Time
}

// RecordingRef names a recording on a call-log record.
type RecordingRef struct {
	ID   string
	Type string
}

// VoicemailCall is a caller that reached an extension's voicemail.
type VoicemailCall struct {
	Mailbox            int64    // the extension the message is for
	From, To           Endpoint // the caller, and the number it called
	Leg                string   // the caller's media leg: the greeting is played to it and it is recorded
	TelephonySessionID string
}

// RecordingStart is a recording to start.
type RecordingStart struct {
	ID                 string
	Owner              int64
	Type               string
	TelephonySessionID string
	SessionID          string
	Legs               []string // one or two open legs: mono, or the first left and the second right
}

// Mailbox takes voicemail and records calls. The server's audio service
// implements it over the media gateway and the store.
type Mailbox interface {
	// TakeMessage plays the mailbox's greeting and a beep to the caller's
	// leg, then records it. It calls done, once and not under any lock of
	// the caller, when the message ended on its own (the caller pressed #,
	// or the length limit was reached); closing the leg (the caller hung
	// up) ends it too, without done. The message is kept when it has audio.
	TakeMessage(ctx context.Context, v VoicemailCall, done func()) error
	// RecordGreeting plays a beep to the leg of a caller of extension ext,
	// then records it as the extension's voicemail greeting until it
	// presses # (then done, as for TakeMessage) or hangs up.
	RecordGreeting(ctx context.Context, ext int64, leg string, done func()) error
	// StartRecording starts recording the legs.
	StartRecording(ctx context.Context, r RecordingStart) error
	// SetRecordingLegs changes the legs a recording takes (a transfer
	// replaced a party).
	SetRecordingLegs(id string, legs []string) error
	// PauseRecording pauses or resumes a recording.
	PauseRecording(id string, paused bool) error
	// StopRecording stops a recording and keeps what it has.
	StopRecording(id string)
}

// RecordAction is what is asked of a call's recording.
type RecordAction string

// Record actions.
const (
	RecordStart  RecordAction = "start"
	RecordStop   RecordAction = "stop"
	RecordPause  RecordAction = "pause"
	RecordResume RecordAction = "resume"
)
