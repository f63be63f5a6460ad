package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/callbridge/widget-server/internal/audio"
	"github.com/callbridge/widget-server/internal/media"
	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/store"
)

// gatewayAudio adapts the media gateway to what the audio service needs
// of it: prompts by file or by name, recordings whose file gets the
// extension of what the legs carry.
type gatewayAudio struct{ gw *media.Gateway }

var _ audio.Media = gatewayAudio{}

// prompt loads one prompt: a built-in sound, or an Ogg Opus file (a
// greeting recorded from a browser). A greeting recorded from a phone
// that speaks G.711 is a WAV file, which an Opus leg cannot be sent
// without encoding: such a caller hears the default greeting.
func (a gatewayAudio) prompt(p audio.Prompt) (*media.Prompt, error) {
	switch {
	case p.File == "" && p.Sound == audio.SoundBeep:
		return media.Beep(), nil
	case p.File == "":
		return media.DefaultGreeting(), nil
	case !strings.EqualFold(filepath.Ext(p.File), ".ogg"):
		return media.DefaultGreeting(), nil
	}
	b, err := os.ReadFile(p.File)
	if err != nil {
		return nil, fmt.Errorf("prompt %s: %w", p.File, err)
	}
	return media.ParseOggOpus(b)
}

func (a gatewayAudio) Play(leg string, prompts []audio.Prompt, done func(played bool)) error {
	ps := make([]*media.Prompt, 0, len(prompts))
	for _, p := range prompts {
		mp, err := a.prompt(p)
		if err != nil {
			mp = media.DefaultGreeting() // a greeting file gone bad: the caller still hears one
			if p.Sound == audio.SoundBeep {
				mp = media.Beep()
			}
		}
		ps = append(ps, mp)
	}
	return a.gw.Play(leg, ps, func(err error) { done(err == nil) })
}

func (a gatewayAudio) Record(id string, o audio.RecordOptions) error {
	contentType, err := a.gw.RecordingType(o.Legs)
	if err != nil {
		return err
	}
	path := o.Path + ".ogg"
	if contentType == media.ContentTypeWAV {
		path = o.Path + ".wav"
	}
	opts := media.RecordOptions{Path: path, Legs: o.Legs, MaxDuration: o.MaxDuration}
	if o.OnDigit != nil {
		opts.StopDigits = "#"
		opts.OnDigit = func(d rune) { o.OnDigit(d) }
	}
	if o.OnStop != nil {
		opts.OnStop = func(r media.RecordResult) {
			res := audio.RecordResult{Path: path, ContentType: r.ContentType, Duration: r.Duration, Err: r.Err}
			switch {
			case r.Err != nil:
				res.Reason = audio.StopError
			case r.Reason == media.RecordLegClosed:
				res.Reason = audio.StopHangup
			case r.Reason == media.RecordLimit:
				res.Reason = audio.StopLimit
			case r.Reason == media.RecordDigit:
				res.Reason = audio.StopDigit
			default:
				res.Reason = audio.StopAsked
			}
			if r.Bytes == 0 && r.Duration == 0 {
				if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
					res.Path = ""
				}
			}
			o.OnStop(res)
		}
	}
	return a.gw.Record(id, opts)
}

func (a gatewayAudio) PauseRecording(id string, paused bool) error {
	return a.gw.PauseRecording(id, paused)
}

func (a gatewayAudio) SetRecordingLegs(id string, legs []string) error {
	return a.gw.SetRecordingLegs(id, legs)
}

func (a gatewayAudio) StopRecording(id string) error {
	_, err := a.gw.StopRecording(id)
	return err
}

// startAudio makes the audio service over the gateway and the store, and
// completes the rows of recordings a stopped server was making.
func startAudio(ctx context.Context, cfg Config, db *store.DB, gw *media.Gateway, msgs *messaging.Service, log *slog.Logger) (*audio.Service, error) {
	dir := cfg.AudioDir
	if dir == "" {
		dir = filepath.Join(cfg.DataDir, "audio")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audio dir: %w", err)
	}
	db.SetAudioDir(dir)
	var announce *audio.Prompt
	switch a := cfg.RecordingAnnouncement; a {
	case "", "off":
	case "beep":
		announce = &audio.Prompt{Sound: audio.SoundBeep}
	default:
		b, err := os.ReadFile(a)
		if err == nil {
			_, err = media.ParseOggOpus(b)
		}
		if err != nil {
			return nil, fmt.Errorf("recording announcement %s: want off, beep or an Ogg Opus file: %w", a, err)
		}
		abs, err := filepath.Abs(a)
		if err != nil {
			return nil, fmt.Errorf("recording announcement %s: %w", a, err)
		}
		announce = &audio.Prompt{File: abs}
	}
	svc := audio.New(audio.Config{Dir: db.AudioDir(), VoicemailLimit: cfg.VoicemailLimit, Retention: cfg.AudioRetention,
		Announcement: announce, Logger: log}, gatewayAudio{gw}, db, msgs)
	if err := svc.Recover(ctx); err != nil {
		return nil, fmt.Errorf("audio: %w", err)
	}
	return svc, nil
}
