package audio

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Run applies the retention period now and then every SweepInterval until
// ctx ends. With no retention period it returns at once.
func (s *Service) Run(ctx context.Context) {
	if s.cfg.Retention <= 0 {
		return
	}
	t := time.NewTicker(SweepInterval)
	defer t.Stop()
	for {
		if _, _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("audio retention sweep failed", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep removes the voicemail messages and the recordings older than the
// retention period, with their files, and says how many of each went.
// With no retention period it removes nothing.
func (s *Service) Sweep(ctx context.Context) (voicemail, recordings int, err error) {
	if s.cfg.Retention <= 0 {
		return 0, 0, nil
	}
	cutoff := s.cfg.Now().Add(-s.cfg.Retention)
	voicemail, verr := s.msgs.PurgeVoicemail(ctx, cutoff)
	recordings, rerr := s.store.PurgeRecordings(ctx, cutoff)
	if voicemail+recordings > 0 {
		s.log.Info("audio retention", slog.Int("voicemail", voicemail), slog.Int("recordings", recordings),
			slog.Time("before", cutoff))
	}
	return voicemail, recordings, errors.Join(verr, rerr)
}
