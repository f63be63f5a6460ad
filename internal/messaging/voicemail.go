package messaging

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Attachment is the audio of a VoiceMail message: a file under the audio
// dir, which the platform API serves at the message's content URI
// (AttachmentPath).
type Attachment struct {
	ID          string // digits, unique across the server
	ContentType string // audio/ogg (Opus) or audio/wav (G.711)
	// Duration is the message's length (the API's vmDuration, in whole
	// seconds).
	Duration time.Duration
	// File is the audio's path relative to the audio dir.
	File string
	Size int64 // bytes
}

// AttachmentType is the platform's type of a voicemail's audio.
const AttachmentType = "AudioRecording"

// AttachmentPath is the path of an attachment's content in the platform API
// (docs/api-audio.md): the uri of the attachment, after the server's base
// URL. The widget plays the same audio from its own route.
func AttachmentPath(m Message, a Attachment) string {
	return "/restapi/v1.0/account/" + strconv.FormatInt(m.AccountID, 10) + "/extension/" +
		strconv.FormatInt(m.ExtensionID, 10) + "/message-store/" + m.ID + "/content/" + a.ID
}

// VoicemailDeposit is a message a caller left: its audio is already in File.
type VoicemailDeposit struct {
	Extension   int64 // the mailbox's extension, whose message it is
	From        Party // the caller
	To          Party // the number or extension the caller called
	File        string
	ContentType string
	Duration    time.Duration
	Size        int64
}

// DepositVoicemail stores a voicemail in the mailbox extension's message
// store: an Inbound VoiceMail message, Unread and Received, whose one
// attachment is the deposit's audio. OnChange is told of it once, as a new
// message.
func (s *Service) DepositVoicemail(ctx context.Context, d VoicemailDeposit) (Message, error) {
	if d.File == "" || d.ContentType == "" {
		return Message{}, errors.New("deposit voicemail: no audio")
	}
	ext, err := s.accounts.Extension(ctx, d.Extension)
	if err != nil {
		return Message{}, fmt.Errorf("deposit voicemail for extension %d: %w", d.Extension, err)
	}
	to := d.To
	if to.ExtensionNumber == "" && to.PhoneNumber == "" {
		to = Party{ExtensionNumber: ext.Number}
	}
	if to.Name == "" {
		to.Name = ext.Name
	}
	now := s.now()
	from := d.From.PhoneNumber
	if from == "" {
		from = d.From.ExtensionNumber
	}
	m := Message{
		AccountID: ext.AccountID, ExtensionID: ext.ID, Type: VoiceMail, Direction: Inbound,
		From: d.From, To: []Party{to}, CreationTime: now, LastModifiedTime: now,
		ReadStatus: Unread, Status: Received, Availability: Alive,
		ConversationID: conversationID("voicemail", strconv.FormatInt(ext.ID, 10), from),
		Attachments:    []Attachment{{ContentType: d.ContentType, Duration: d.Duration, File: d.File, Size: d.Size}},
	}
	stored, err := s.add(ctx, []Message{m}, nil)
	if err != nil {
		return Message{}, fmt.Errorf("deposit voicemail for extension %d: %w", d.Extension, err)
	}
	return stored[0], nil
}

// PurgeVoicemail removes for good the VoiceMail messages created before
// cutoff, with their audio files (the retention period, internal/audio).
// It reports how many went; nobody is told, as nobody is of a deletion by
// the retention period.
func (s *Service) PurgeVoicemail(ctx context.Context, cutoff time.Time) (int, error) {
	n, err := s.store.PurgeMessages(ctx, VoiceMail, cutoff)
	if err != nil {
		return 0, fmt.Errorf("purge voicemail before %s: %w", cutoff.UTC().Format(TimeFormat), err)
	}
	return n, nil
}
