package audio

import "time"

// Media is what the service needs of the media gateway. internal/media's
// Gateway satisfies it, through a few lines in internal/server where its
// own types differ (a Prompt becomes media.ParseOggOpus of its file, or the
// gateway's DefaultGreeting or Beep); internal/server asserts so at compile
// time.
type Media interface {
	// Play plays the prompts, in order, to the leg, and calls done once,
	// not under any lock of the gateway: played is true when every prompt
	// was played, false when the leg closed (the caller hung up) or failed
	// first.
	Play(leg string, prompts []Prompt, done func(played bool)) error
	// Record starts recording the legs into a new file (RecordOptions.Path).
	// An error means nothing was started and OnStop will not be called; a
	// file that could not be created wraps the system's error (ENOSPC on a
	// full disk).
	Record(id string, opts RecordOptions) error
	// PauseRecording pauses or resumes a recording: nothing is written
	// while it is paused.
	PauseRecording(id string, paused bool) error
	// SetRecordingLegs changes the legs a recording takes.
	SetRecordingLegs(id string, legs []string) error
	// StopRecording ends a recording (StopAsked).
	StopRecording(id string) error
}

// Sound is one of the gateway's built-in prompts.
type Sound string

// Built-in prompts.
const (
	// SoundGreeting is the default voicemail greeting, shipped with the
	// binary, pre-encoded.
	SoundGreeting Sound = "greeting"
	// SoundBeep is the beep after the greeting, and the periodic or
	// starting tone that tells the other party a call is recorded.
	SoundBeep Sound = "beep"
)

// Prompt is one thing to play: an Ogg Opus file, or a built-in sound.
type Prompt struct {
	File  string // an absolute path; when "", Sound
	Sound Sound
}

// RecordOptions is a recording to make.
type RecordOptions struct {
	// Path is the file to write, without its extension: the gateway adds
	// ".ogg" for Opus legs (Ogg Opus; two legs as left and right, channel
	// mapping family 1) or ".wav" for G.711 legs, and names the file in
	// RecordResult.
	Path string
	// Legs are one or two open legs: mono, or the first left and the
	// second right.
	Legs []string
	// MaxDuration ends the recording (StopLimit); 0: no limit.
	MaxDuration time.Duration
	// OnDigit, when set, is told each DTMF digit a leg sends while it
	// records; when it returns true the recording ends (StopDigit).
	OnDigit func(digit rune) (stop bool)
	// OnStop is called once when the recording has ended and its file is
	// closed, not under any lock of the gateway.
	OnStop func(RecordResult)
}

// StopReason is why a recording ended.
type StopReason string

// Reasons a recording ends.
const (
	StopAsked  StopReason = "Asked"  // StopRecording
	StopDigit  StopReason = "Digit"  // OnDigit said so
	StopLimit  StopReason = "Limit"  // MaxDuration reached
	StopHangup StopReason = "Hangup" // every leg closed
	StopError  StopReason = "Error"  // the file could not be written (Err)
)

// RecordResult is what a recording kept.
type RecordResult struct {
	Reason      StopReason
	Path        string // the file written, with its extension; "" if none
	ContentType string // ContentOgg or ContentWAV
	// Duration is the audio in the file (pauses excluded).
	Duration time.Duration
	// Err is why writing failed (StopError): a full disk wraps ENOSPC. What
	// was written before it stays in Path.
	Err error
}
