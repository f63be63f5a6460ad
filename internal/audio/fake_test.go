package audio_test

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/callbridge/widget-server/internal/audio"
)

// fakeMedia stands in for the gateway: it keeps what it is asked to play
// until the test says how it ended, and records into real small files,
// one byte per 20 ms frame of "audio" the test says a leg sent.
type fakeMedia struct {
	mu         sync.Mutex
	plays      []*fakePlay
	recs       map[string]*fakeRec
	last       string // the last recording started
	failRecord error  // Record's answer when set
}

type fakePlay struct {
	leg     string
	prompts []audio.Prompt
	done    func(bool)
}

type fakeRec struct {
	opts    audio.RecordOptions
	legs    []string
	paused  bool
	file    *os.File
	path    string
	written time.Duration
}

func newFakeMedia() *fakeMedia { return &fakeMedia{recs: map[string]*fakeRec{}} }

func (f *fakeMedia) Play(leg string, prompts []audio.Prompt, done func(bool)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.plays = append(f.plays, &fakePlay{leg: leg, prompts: prompts, done: done})
	return nil
}

// played ends the oldest pending play: played false is the leg closing.
func (f *fakeMedia) played(ok bool) *fakePlay {
	f.mu.Lock()
	if len(f.plays) == 0 {
		f.mu.Unlock()
		panic("nothing is playing")
	}
	p := f.plays[0]
	f.plays = f.plays[1:]
	f.mu.Unlock()
	p.done(ok)
	return p
}

func (f *fakeMedia) pending() []*fakePlay {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*fakePlay(nil), f.plays...)
}

func (f *fakeMedia) Record(id string, opts audio.RecordOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failRecord != nil {
		return f.failRecord
	}
	if _, dup := f.recs[id]; dup {
		return fmt.Errorf("recording %s exists", id)
	}
	path := opts.Path + ".ogg"
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	file.WriteString("OggS")
	f.recs[id] = &fakeRec{opts: opts, legs: opts.Legs, file: file, path: path}
	f.last = id
	return nil
}

func (f *fakeMedia) rec(id string) (*fakeRec, error) {
	r, ok := f.recs[id]
	if !ok {
		return nil, errors.New("no such recording")
	}
	return r, nil
}

func (f *fakeMedia) PauseRecording(id string, paused bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.rec(id)
	if err == nil {
		r.paused = paused
	}
	return err
}

func (f *fakeMedia) SetRecordingLegs(id string, legs []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.rec(id)
	if err == nil {
		r.legs = legs
	}
	return err
}

func (f *fakeMedia) StopRecording(id string) error {
	return f.stop(id, audio.StopAsked, nil)
}

// stop ends a recording and calls its OnStop, as the gateway does.
func (f *fakeMedia) stop(id string, reason audio.StopReason, err error) error {
	f.mu.Lock()
	r, rerr := f.rec(id)
	if rerr != nil {
		f.mu.Unlock()
		return rerr
	}
	delete(f.recs, id)
	r.file.Close()
	f.mu.Unlock()
	r.opts.OnStop(audio.RecordResult{Reason: reason, Path: r.path, ContentType: audio.ContentOgg, Duration: r.written, Err: err})
	return nil
}

// speak has the recording's legs send d of audio; the limit ends it.
func (f *fakeMedia) speak(id string, d time.Duration) {
	f.mu.Lock()
	r, err := f.rec(id)
	if err != nil || r.paused {
		f.mu.Unlock()
		return
	}
	if max := r.opts.MaxDuration; max > 0 && r.written+d >= max {
		d = max - r.written
	}
	r.written += d
	r.file.Write(make([]byte, d/(20*time.Millisecond)))
	limit := r.opts.MaxDuration > 0 && r.written >= r.opts.MaxDuration
	f.mu.Unlock()
	if limit {
		f.stop(id, audio.StopLimit, nil)
	}
}

// digit has a leg send a DTMF digit.
func (f *fakeMedia) digit(id string, d rune) {
	f.mu.Lock()
	r, err := f.rec(id)
	f.mu.Unlock()
	if err == nil && r.opts.OnDigit != nil && r.opts.OnDigit(d) {
		f.stop(id, audio.StopDigit, nil)
	}
}

func (f *fakeMedia) lastRecording() (string, *fakeRec) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last, f.recs[f.last]
}
