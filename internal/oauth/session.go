package oauth

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Session is a signed-in widget session: which app and extension it is, and
// the tokens, which stay on this server.
type Session struct {
	ID          string
	ClientID    string
	ExtensionID int64
	Token       *oauth2.Token
	Created     time.Time
	LastSeen    time.Time
}

// StoredSession is a Session as persisted, its token sealed.
type StoredSession struct {
	ID          string
	ClientID    string
	ExtensionID int64
	SealedToken []byte
	Created     time.Time
	LastSeen    time.Time
}

// SessionStore persists sessions. Implemented by internal/store.
type SessionStore interface {
	PutSession(ctx context.Context, s StoredSession) error
	Session(ctx context.Context, id string) (StoredSession, error) // ErrSessionEnded when absent
	DeleteSession(ctx context.Context, id string) error
	TouchSession(ctx context.Context, id string, at time.Time) error
	SessionIDs(ctx context.Context) ([]string, error)
}

// SessionLocker is a SessionStore that holds a session for one process
// at a time, across the processes that share it (the nodes of a cluster
// on one database): the refresh of its tokens then happens once, since a
// refresh token used twice revokes the whole family. Without it, the
// Sessions' own lock, per process, is what serialises refreshes.
type SessionLocker interface {
	LockSession(ctx context.Context, id string) (unlock func(), err error)
}

// Timeouts of a signed-in session.
const (
	IdleTimeout     = 24 * time.Hour
	AbsoluteTimeout = 7 * 24 * time.Hour
	// refreshMargin renews a token this long before it expires.
	refreshMargin = 2 * time.Minute
)

// Sessions keeps signed-in sessions: tokens sealed at rest (AES-GCM),
// refreshed one at a time per session, revoked on sign-out. OnEnd is told
// when a session ends other than by sign-out (timeout, refused refresh), so
// the widget can be told at once.
type Sessions struct {
	store  SessionStore
	client *Client
	aead   cipher.AEAD
	log    *slog.Logger
	now    func() time.Time
	OnEnd  func(sessionID string, extensionID int64, reason error)

	mu    sync.Mutex
	locks map[string]*sessionLock
}

type sessionLock struct {
	sync.Mutex
	users int
}

// NewSessions returns the session keeper. key is 32 bytes.
func NewSessions(store SessionStore, client *Client, key []byte, log *slog.Logger) (*Sessions, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sessions: token key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sessions{store: store, client: client, aead: aead, log: log, now: time.Now, locks: map[string]*sessionLock{}}, nil
}

func (m *Sessions) lock(id string) func() {
	m.mu.Lock()
	l := m.locks[id]
	if l == nil {
		l = &sessionLock{}
		m.locks[id] = l
	}
	l.users++
	m.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		m.mu.Lock()
		if l.users--; l.users == 0 {
			delete(m.locks, id)
		}
		m.mu.Unlock()
	}
}

func (m *Sessions) seal(id string, tok *oauth2.Token) ([]byte, error) {
	plain, err := json.Marshal(tok)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, m.aead.NonceSize())
	rand.Read(nonce)
	return m.aead.Seal(nonce, nonce, plain, []byte(id)), nil
}

func (m *Sessions) open(id string, sealed []byte) (*oauth2.Token, error) {
	n := m.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed token too short")
	}
	plain, err := m.aead.Open(nil, sealed[:n], sealed[n:], []byte(id))
	if err != nil {
		return nil, fmt.Errorf("unseal token: %w", err)
	}
	var tok oauth2.Token
	if err := json.Unmarshal(plain, &tok); err != nil {
		return nil, err
	}
	return &tok, nil
}

// Create stores a new signed-in session under a fresh id.
func (m *Sessions) Create(ctx context.Context, clientID string, extensionID int64, tok *oauth2.Token) (Session, error) {
	now := m.now().UTC()
	s := Session{ID: randomString(24), ClientID: clientID, ExtensionID: extensionID, Token: tok, Created: now, LastSeen: now}
	if err := m.put(ctx, s); err != nil {
		return Session{}, err
	}
	return s, nil
}

func (m *Sessions) put(ctx context.Context, s Session) error {
	sealed, err := m.seal(s.ID, s.Token)
	if err != nil {
		return err
	}
	return m.store.PutSession(ctx, StoredSession{ID: s.ID, ClientID: s.ClientID, ExtensionID: s.ExtensionID,
		SealedToken: sealed, Created: s.Created, LastSeen: s.LastSeen})
}

// Get returns a live session for a request of its user, refreshing its token
// when it is about to expire. A session past its timeouts, or whose refresh
// the authorization server refuses, is ended: ErrSessionEnded.
func (m *Sessions) Get(ctx context.Context, id string) (Session, error) {
	return m.load(ctx, id, true)
}

func (m *Sessions) load(ctx context.Context, id string, activity bool) (Session, error) {
	if id == "" {
		return Session{}, ErrSessionEnded
	}
	unlock := m.lock(id)
	defer unlock()
	st, err := m.store.Session(ctx, id)
	if err != nil {
		return Session{}, err
	}
	now := m.now().UTC()
	if now.Sub(st.Created) > AbsoluteTimeout || now.Sub(st.LastSeen) > IdleTimeout {
		return Session{}, m.endLocked(ctx, st, fmt.Errorf("%w: timed out", ErrSessionEnded))
	}
	tok, err := m.open(id, st.SealedToken)
	if err != nil {
		return Session{}, m.endLocked(ctx, st, fmt.Errorf("%w: %v", ErrSessionEnded, err))
	}
	s := Session{ID: id, ClientID: st.ClientID, ExtensionID: st.ExtensionID, Token: tok, Created: st.Created, LastSeen: st.LastSeen}
	if activity {
		s.LastSeen = now
	}
	if stale(tok, now) {
		fresh, unlockAll, err := m.holdForRefresh(ctx, id, now)
		if err != nil {
			return Session{}, err
		}
		defer unlockAll()
		if fresh != nil { // another process refreshed it meanwhile
			s.Token = fresh
			return s, nil
		}
		next, err := m.client.Refresh(ctx, st.ClientID, tok)
		if errors.Is(err, ErrRefreshRejected) {
			return Session{}, m.endLocked(ctx, st, fmt.Errorf("%w: %v", ErrSessionEnded, err))
		}
		if err != nil {
			return Session{}, err // the server may be back soon: keep the session
		}
		s.Token = next
		if err := m.put(ctx, s); err != nil {
			return Session{}, err
		}
		m.log.Info("session token refreshed", slog.String("session", logID(id)), slog.Int64("extension", s.ExtensionID))
		return s, nil
	}
	if activity && now.Sub(st.LastSeen) > time.Minute {
		if err := m.store.TouchSession(ctx, id, now); err != nil {
			return Session{}, err
		}
	}
	return s, nil
}

// stale reports whether a token is to be refreshed now.
func stale(tok *oauth2.Token, now time.Time) bool {
	return !tok.Expiry.IsZero() && tok.Expiry.Before(now.Add(refreshMargin))
}

// holdForRefresh holds session id across processes (SessionLocker) for
// its refresh, until unlock, and reads it again: when another process
// refreshed it meanwhile, it returns the fresh token, and nothing is to be
// refreshed.
func (m *Sessions) holdForRefresh(ctx context.Context, id string, now time.Time) (fresh *oauth2.Token, unlock func(), err error) {
	l, ok := m.store.(SessionLocker)
	if !ok {
		return nil, func() {}, nil
	}
	unlock, err = l.LockSession(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	st, err := m.store.Session(ctx, id)
	if err == nil {
		fresh, err = m.open(id, st.SealedToken)
	}
	if err != nil {
		unlock()
		return nil, nil, err
	}
	if stale(fresh, now) {
		return nil, unlock, nil
	}
	return fresh, unlock, nil
}

// End signs a session out: revokes its tokens and forgets it.
func (m *Sessions) End(ctx context.Context, id string) error {
	unlock := m.lock(id)
	defer unlock()
	st, err := m.store.Session(ctx, id)
	if errors.Is(err, ErrSessionEnded) {
		return nil
	}
	if err != nil {
		return err
	}
	if tok, err := m.open(id, st.SealedToken); err == nil {
		if err := m.client.Revoke(ctx, st.ClientID, tok); err != nil {
			m.log.Warn("revoke on sign-out failed", slog.String("session", logID(id)), slog.Any("err", err))
		}
	}
	return m.store.DeleteSession(ctx, id)
}

func (m *Sessions) endLocked(ctx context.Context, st StoredSession, reason error) error {
	if err := m.store.DeleteSession(ctx, st.ID); err != nil {
		return errors.Join(reason, err)
	}
	m.log.Info("session ended", slog.String("session", logID(st.ID)), slog.Any("reason", reason))
	if m.OnEnd != nil {
		m.OnEnd(st.ID, st.ExtensionID, reason)
	}
	return reason
}

// Maintain ends sessions past their timeouts and renews tokens about to
// expire, every interval until ctx ends, so a widget learns of a lost
// session when it happens rather than on its next action.
func (m *Sessions) Maintain(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			ids, err := m.store.SessionIDs(ctx)
			if err != nil {
				m.log.Warn("session maintenance", slog.Any("err", err))
				continue
			}
			for _, id := range ids {
				if ctx.Err() != nil {
					return
				}
				m.load(ctx, id, false) // ends or refreshes as needed
			}
		}
	}
}

// logID shortens a session id for logs: enough to correlate, useless to steal.
func logID(id string) string {
	if len(id) > 6 {
		return id[:6]
	}
	return id
}
