package audio

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
)

// RecordGreeting plays a beep to the leg, then records it until # is
// pressed, GreetingLimit is reached or the leg closes, and keeps what it
// recorded as the extension's greeting, replacing the old one (and its
// file). done is called once when the recording ended on its own (#, the
// limit, or a file that could not be written).
func (s *Service) RecordGreeting(ctx context.Context, extension int64, leg string, done func()) error {
	ctx = context.WithoutCancel(ctx)
	log := s.log.With(slog.Int64("extension", extension), slog.String("leg", leg))
	once := &sync.Once{}
	end := func() {
		if done != nil {
			once.Do(done)
		}
	}
	err := s.media.Play(leg, []Prompt{{Sound: SoundBeep}}, func(played bool) {
		if !played {
			return
		}
		base, err := s.base(greetingsDir, extension)
		if err == nil {
			err = s.media.Record("greeting-"+filepath.Base(base), RecordOptions{
				Path: base, Legs: []string{leg}, MaxDuration: s.cfg.GreetingLimit,
				OnDigit: func(d rune) bool { return d == '#' },
				OnStop: func(res RecordResult) {
					if res.Reason != StopHangup && res.Reason != StopAsked {
						end()
					}
					s.keepGreeting(ctx, extension, res, log)
				},
			})
		}
		if err != nil {
			log.Error("greeting not recorded", slog.Any("err", err))
			end()
		}
	})
	if err != nil {
		return storageError("greeting beep", err)
	}
	return nil
}

func (s *Service) keepGreeting(ctx context.Context, extension int64, res RecordResult, log *slog.Logger) {
	if res.Err != nil {
		log.Error("greeting: the file could not be written", slog.Bool("storageFull", IsStorageFull(res.Err)), slog.Any("err", res.Err))
		s.remove(res.Path)
		return
	}
	rel, local := s.rel(res.Path)
	if _, ok := kept(res.Path); !ok || !local || res.Duration < minGreeting {
		s.remove(res.Path)
		return
	}
	g := Greeting{ExtensionID: extension, File: rel, ContentType: res.ContentType, Duration: res.Duration, Updated: s.cfg.Now().UTC()}
	if err := s.store.SetGreeting(ctx, g); err != nil {
		log.Error("greeting not stored", slog.Any("err", err))
		s.remove(res.Path)
		return
	}
	log.Info("greeting recorded", slog.Duration("duration", res.Duration))
}

// Greeting returns the extension's own greeting; ErrNotFound when it has
// none and the default one plays.
func (s *Service) Greeting(ctx context.Context, extension int64) (Greeting, error) {
	return s.store.Greeting(ctx, extension)
}

// DeleteGreeting removes the extension's own greeting and its file: the
// default one plays again.
func (s *Service) DeleteGreeting(ctx context.Context, extension int64) error {
	if err := s.store.DeleteGreeting(ctx, extension); err != nil {
		return fmt.Errorf("delete greeting: %w", err)
	}
	return nil
}
