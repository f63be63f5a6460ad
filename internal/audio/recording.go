package audio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/callbridge/widget-server/internal/telephony"
)

// StartRecording writes the recording's row (Recording), then starts
// recording the legs into a new file under recordings/<owner>/, playing
// the Announcement first when one is set. A disk that cannot take the file
// leaves the row StorageFull and answers an error wrapping
// telephony.ErrStorageFull.
func (s *Service) StartRecording(ctx context.Context, r telephony.RecordingStart) error {
	rec := Recording{ID: r.ID, ExtensionID: r.Owner, TelephonySessionID: r.TelephonySessionID, SessionID: r.SessionID,
		Type: r.Type, StartTime: s.cfg.Now().UTC(), Status: StatusRecording}
	if rec.Type == "" {
		rec.Type = telephony.RecordingOnDemand
	}
	// While it records, the row names the file without its extension,
	// so that Recover finds what a server that stopped had written.
	base, err := s.base(recordingsDir, r.Owner)
	if err == nil {
		rec.File, _ = s.rel(base)
	}
	if aerr := s.store.AddRecording(ctx, rec); aerr != nil {
		return fmt.Errorf("start recording %s: %w", r.ID, aerr)
	}
	ctx = context.WithoutCancel(ctx)
	if err == nil {
		if s.cfg.Announcement != nil {
			for _, leg := range r.Legs {
				if err := s.media.Play(leg, []Prompt{*s.cfg.Announcement}, func(bool) {}); err != nil {
					s.log.Warn("recording announcement not played", slog.String("recordingId", r.ID), slog.String("leg", leg), slog.Any("err", err))
				}
			}
		}
		done := make(chan struct{})
		s.mu.Lock()
		s.recording[r.ID] = done
		s.mu.Unlock()
		err = s.media.Record(r.ID, RecordOptions{Path: base, Legs: r.Legs,
			OnStop: func(res RecordResult) {
				s.completeRecording(ctx, rec, res)
				s.mu.Lock()
				delete(s.recording, r.ID)
				s.mu.Unlock()
				close(done)
			}})
		if err != nil {
			s.mu.Lock()
			delete(s.recording, r.ID)
			s.mu.Unlock()
		}
	}
	if err != nil {
		rec.Status, rec.Error, rec.File = StatusFailed, err.Error(), ""
		if IsStorageFull(err) {
			rec.Status = StatusStorageFull
		}
		if uerr := s.store.UpdateRecording(ctx, rec); uerr != nil {
			s.log.Error("recording row not updated", slog.String("recordingId", r.ID), slog.Any("err", uerr))
		}
		return storageError("start recording "+r.ID, err)
	}
	return nil
}

// Recover completes the rows of the recordings a server that stopped was
// making: each becomes Failed ("the server stopped while it recorded"),
// keeping what was written. Call it at start, before any recording starts.
func (s *Service) Recover(ctx context.Context) error {
	recs, err := s.store.UnfinishedRecordings(ctx)
	if err != nil {
		return fmt.Errorf("recover recordings: %w", err)
	}
	for _, rec := range recs {
		base := rec.File
		rec.File, rec.Status, rec.Error = "", StatusFailed, "the server stopped while it recorded"
		if base != "" && filepath.IsLocal(base) {
			matches, _ := filepath.Glob(filepath.Join(s.cfg.Dir, base) + ".*")
			for _, m := range matches {
				size, ok := kept(m)
				if rel, local := s.rel(m); ok && local {
					rec.File, rec.Size, rec.ContentType = rel, size, contentTypeOf(m)
					break
				}
			}
		}
		if err := s.store.UpdateRecording(ctx, rec); err != nil {
			return fmt.Errorf("recover recording %s: %w", rec.ID, err)
		}
		s.log.Warn("recording was cut short by a stop of the server", slog.String("recordingId", rec.ID), slog.String("file", rec.File))
	}
	return nil
}

// contentTypeOf is the content type of a file the gateway wrote, by its
// extension.
func contentTypeOf(path string) string {
	if filepath.Ext(path) == ".wav" {
		return ContentWAV
	}
	return ContentOgg
}

// completeRecording saves what a recording kept: its file, duration and
// size, and whether the disk let it finish.
func (s *Service) completeRecording(ctx context.Context, rec Recording, res RecordResult) {
	rec.Status, rec.Duration, rec.ContentType, rec.File = StatusCompleted, res.Duration, res.ContentType, ""
	if size, ok := kept(res.Path); ok {
		if rel, local := s.rel(res.Path); local {
			rec.File, rec.Size = rel, size
		}
	}
	if res.Err != nil {
		rec.Status, rec.Error = StatusFailed, res.Err.Error()
		if IsStorageFull(res.Err) {
			rec.Status = StatusStorageFull
		}
	}
	log := s.log.With(slog.String("recordingId", rec.ID), slog.String("status", string(rec.Status)))
	if err := s.store.UpdateRecording(ctx, rec); err != nil {
		log.Error("recording row not completed", slog.Any("err", err))
		return
	}
	log.Info("recording", slog.Duration("duration", rec.Duration), slog.Int64("size", rec.Size))
}

// SetRecordingLegs changes the legs a recording takes.
func (s *Service) SetRecordingLegs(id string, legs []string) error {
	if err := s.media.SetRecordingLegs(id, legs); err != nil {
		return fmt.Errorf("recording %s legs: %w", id, err)
	}
	return nil
}

// PauseRecording pauses or resumes a recording.
func (s *Service) PauseRecording(id string, paused bool) error {
	if err := s.media.PauseRecording(id, paused); err != nil {
		return fmt.Errorf("pause recording %s: %w", id, err)
	}
	return nil
}

// StopRecording stops a recording; its row is completed when the file is
// closed.
//
// It returns once the row is completed, so that what asked for the stop
// finds the recording whole; at most stopWait, should the disk be slow.
func (s *Service) StopRecording(id string) {
	s.mu.Lock()
	done := s.recording[id]
	s.mu.Unlock()
	if err := s.media.StopRecording(id); err != nil && done == nil {
		s.log.Warn("recording not stopped", slog.String("recordingId", id), slog.Any("err", err))
	}
	if done == nil {
		return
	}
	t := time.NewTimer(stopWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.log.Warn("recording stopped, its row not completed yet", slog.String("recordingId", id))
	}
}

// stopWait bounds how long StopRecording waits for a recording's row.
const stopWait = 10 * time.Second

// Recording returns a recording's row; ErrNotFound if none.
func (s *Service) Recording(ctx context.Context, id string) (Recording, error) {
	return s.store.Recording(ctx, id)
}

// DeleteRecording removes a recording and its file.
func (s *Service) DeleteRecording(ctx context.Context, id string) error {
	r, err := s.store.Recording(ctx, id)
	if err != nil {
		return err
	}
	if r.Status == StatusRecording {
		return fmt.Errorf("delete recording %s: %w", id, errors.New("it is being made"))
	}
	return s.store.DeleteRecording(ctx, id)
}
