package media

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/logging"
)

const (
	// pionRepeatWindow is how long an error of the library, once logged
	// as a warning, stays at debug when it comes again.
	pionRepeatWindow = time.Minute
	// pionRepeatKeys bounds how many distinct errors are remembered.
	pionRepeatKeys = 256
)

// pionLoggers routes the WebRTC library's logs into the gateway's slog
// logger. Its trace, debug, info and warning lines are chatter about
// connections the gateway follows itself (a leg that fails is logged once,
// as "leg failed"): they go to debug, so that a browser whose ICE cannot
// start no longer logs a warning five times a second. Its errors are
// warnings, each at most once per pionRepeatWindow; the repeats in between
// are debug, and the next warning counts them.
type pionLoggers struct {
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	repeats map[repeatKey]*repeat
}

// repeatKey names an error of the library: its scope and its message, or
// its format for the formatting variants (so that an error naming a
// different address each time is still one error).
type repeatKey struct{ scope, text string }

type repeat struct {
	warned     time.Time // when it was last logged as a warning
	suppressed int       // repeats logged at debug since
}

func newPionLoggers(log *slog.Logger) *pionLoggers {
	return &pionLoggers{log: log, now: time.Now, repeats: map[repeatKey]*repeat{}}
}

func (f *pionLoggers) NewLogger(scope string) logging.LeveledLogger {
	return &pionLogger{f: f, scope: scope, log: f.log.With(slog.String("scope", scope))}
}

// errorLevel decides the level of an error of the library: a warning when
// it was not warned about within the window, else debug. It returns the
// number of repeats the warning stands for.
func (f *pionLoggers) errorLevel(k repeatKey) (slog.Level, int) {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if r := f.repeats[k]; r != nil {
		if now.Sub(r.warned) < pionRepeatWindow {
			r.suppressed++
			return slog.LevelDebug, 0
		}
		n := r.suppressed
		r.warned, r.suppressed = now, 0
		return slog.LevelWarn, n
	}
	if len(f.repeats) >= pionRepeatKeys {
		for key, r := range f.repeats {
			if now.Sub(r.warned) >= pionRepeatWindow {
				delete(f.repeats, key)
			}
		}
		if len(f.repeats) >= pionRepeatKeys {
			clear(f.repeats)
		}
	}
	f.repeats[k] = &repeat{warned: now}
	return slog.LevelWarn, 0
}

// repeatKeys is how many distinct errors are remembered.
func (f *pionLoggers) repeatKeys() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.repeats)
}

type pionLogger struct {
	f     *pionLoggers
	scope string
	log   *slog.Logger
}

func (l *pionLogger) emit(level slog.Level, msg string) {
	l.log.Log(context.Background(), level, msg)
}

func (l *pionLogger) emitf(level slog.Level, format string, args ...any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
}

// fail logs an error of the library, keyed by text (its message or format).
func (l *pionLogger) fail(text string, msg func() string) {
	level, n := l.f.errorLevel(repeatKey{l.scope, text})
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	if n > 0 {
		l.log.Log(context.Background(), level, msg(), slog.Int("repeats", n))
		return
	}
	l.log.Log(context.Background(), level, msg())
}

func (l *pionLogger) Trace(msg string)                  { l.emit(slog.LevelDebug-4, msg) }
func (l *pionLogger) Tracef(format string, args ...any) { l.emitf(slog.LevelDebug-4, format, args...) }
func (l *pionLogger) Debug(msg string)                  { l.emit(slog.LevelDebug, msg) }
func (l *pionLogger) Debugf(format string, args ...any) { l.emitf(slog.LevelDebug, format, args...) }
func (l *pionLogger) Info(msg string)                   { l.emit(slog.LevelDebug, msg) }
func (l *pionLogger) Infof(format string, args ...any)  { l.emitf(slog.LevelDebug, format, args...) }
func (l *pionLogger) Warn(msg string)                   { l.emit(slog.LevelDebug, msg) }
func (l *pionLogger) Warnf(format string, args ...any)  { l.emitf(slog.LevelDebug, format, args...) }
func (l *pionLogger) Error(msg string)                  { l.fail(msg, func() string { return msg }) }
func (l *pionLogger) Errorf(format string, args ...any) {
	l.fail(format, func() string { return fmt.Sprintf(format, args...) })
}
