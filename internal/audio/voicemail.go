package audio

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/telephony"
)

// TakeMessage plays the mailbox's greeting (its own, else the default one)
// and a beep to the caller's leg, then records the leg into a new file
// under voicemail/<extension>/ until the caller presses #, reaches
// VoicemailLimit or hangs up. done is called once when the message ended on
// its own (#, the limit, or a file that could not be written), so the
// switch ends the call. A message with audio (MinMessage or more) lands in
// the mailbox's message store; nothing recorded (the caller hung up during
// the greeting, or at the beep) leaves no message and no file.
func (s *Service) TakeMessage(ctx context.Context, v telephony.VoicemailCall, done func()) error {
	ctx = context.WithoutCancel(ctx)
	log := s.log.With(slog.Int64("mailbox", v.Mailbox), slog.String("telephonySessionId", v.TelephonySessionID),
		slog.String("leg", v.Leg))
	once := &sync.Once{}
	end := func() {
		if done != nil {
			once.Do(done)
		}
	}
	prompts := []Prompt{s.greeting(ctx, v.Mailbox), {Sound: SoundBeep}}
	err := s.media.Play(v.Leg, prompts, func(played bool) {
		if !played {
			log.Debug("voicemail: the caller left during the greeting")
			return
		}
		if err := s.recordMessage(ctx, v, log, end); err != nil {
			log.Error("voicemail not recorded", slog.Any("err", err))
			end()
		}
	})
	if err != nil {
		return storageError("voicemail greeting", err)
	}
	return nil
}

// greeting is what a caller to the extension's voicemail hears first.
func (s *Service) greeting(ctx context.Context, extension int64) Prompt {
	g, err := s.store.Greeting(ctx, extension)
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			s.log.Warn("greeting not read: the default one plays", slog.Int64("extension", extension), slog.Any("err", err))
		}
		return Prompt{Sound: SoundGreeting}
	}
	path := filepath.Join(s.cfg.Dir, g.File)
	if _, ok := kept(path); !ok || !filepath.IsLocal(g.File) {
		s.log.Warn("greeting file missing: the default one plays", slog.Int64("extension", extension), slog.String("file", g.File))
		return Prompt{Sound: SoundGreeting}
	}
	return Prompt{File: path}
}

func (s *Service) recordMessage(ctx context.Context, v telephony.VoicemailCall, log *slog.Logger, end func()) error {
	base, err := s.base(voicemailDir, v.Mailbox)
	if err != nil {
		return err
	}
	id := "vm-" + filepath.Base(base)
	return s.media.Record(id, RecordOptions{
		Path: base, Legs: []string{v.Leg}, MaxDuration: s.cfg.VoicemailLimit,
		OnDigit: func(d rune) bool { return d == '#' },
		OnStop: func(res RecordResult) {
			if res.Reason != StopHangup && res.Reason != StopAsked {
				end()
			}
			s.deposit(ctx, v, res, log)
		},
	})
}

// deposit keeps a message that has audio, and removes the file of one that
// has not or could not be stored.
func (s *Service) deposit(ctx context.Context, v telephony.VoicemailCall, res RecordResult, log *slog.Logger) {
	log = log.With(slog.String("reason", string(res.Reason)), slog.Duration("duration", res.Duration))
	if res.Err != nil {
		log.Error("voicemail: the file could not be written", slog.Bool("storageFull", IsStorageFull(res.Err)), slog.Any("err", res.Err))
	}
	size, ok := kept(res.Path)
	rel, local := s.rel(res.Path)
	if !ok || !local || res.Duration < s.cfg.MinMessage {
		log.Debug("voicemail: nothing recorded")
		s.remove(res.Path)
		return
	}
	m, err := s.msgs.DepositVoicemail(ctx, messaging.VoicemailDeposit{
		Extension: v.Mailbox, From: party(v.From), To: party(v.To),
		File: rel, ContentType: res.ContentType, Duration: res.Duration, Size: size,
	})
	if err != nil {
		log.Error("voicemail not stored", slog.Any("err", err))
		s.remove(res.Path)
		return
	}
	log.Info("voicemail", slog.String("messageId", m.ID))
}

func party(e telephony.Endpoint) messaging.Party {
	return messaging.Party{PhoneNumber: e.PhoneNumber, ExtensionNumber: e.ExtensionNumber, Name: e.Name}
}
