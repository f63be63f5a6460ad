package web

import (
	"context"
	"log/slog"
	"time"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/identity"
)

// RevocationLog records the ends of extensions' credentials (see
// identity.Revocation); implemented by internal/store. Whichever process
// disables an extension or changes its password appends to it.
type RevocationLog interface {
	LastRevocation(ctx context.Context) (int64, error)
	RevocationsAfter(ctx context.Context, seq int64, limit int) ([]identity.Revocation, error)
}

// revocationBatch bounds the revocations read at once.
const revocationBatch = 100

// WatchRevocations reads the log every interval until ctx ends and cuts
// what this server holds open of each extension whose credentials ended
// (ExtensionRevoked). Revocations from before it started concern nothing
// it holds. The change itself (sessions and tokens ended) is already in the
// database, so the widget's and the API's next request fails regardless;
// this reaches the streams and devices that make no request.
func (s *Server) WatchRevocations(ctx context.Context, log RevocationLog, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	seq, started := int64(0), false
	for {
		if !started {
			var err error
			if seq, err = log.LastRevocation(ctx); err == nil {
				started = true
			} else if ctx.Err() == nil {
				s.log.Warn("revocations: cannot read the log", slog.Any("err", err))
			}
		} else {
			revs, err := log.RevocationsAfter(ctx, seq, revocationBatch)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("revocations: cannot read the log", slog.Any("err", err))
			}
			for _, r := range revs {
				s.ExtensionRevoked(r.ExtensionID, r.Reason)
				seq = r.Seq
			}
			if len(revs) == revocationBatch {
				continue // more are waiting
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ExtensionRevoked cuts what this server holds open of an extension whose
// credentials ended: its phone devices are unregistered (their calls end
// and they stop ringing), its widgets are told to reload their state (in
// which they find themselves signed out) and its event streams are then
// closed, so that a client that ignores the notice receives nothing more.
// A stream opened again with the ended session is a signed-out one.
func (s *Server) ExtensionRevoked(extensionID int64, reason string) {
	var devices []string
	if s.Switch != nil {
		devices = s.Switch.Devices(extensionID)
		for _, id := range devices {
			s.Switch.UnregisterDevice(id)
		}
	}
	group := bridge.ExtensionGroup(extensionID)
	if _, err := s.Hub.Publish(group, map[string]string{"type": bridge.ResyncType}); err != nil {
		s.log.Warn("revocation not told to the widgets", slog.Int64("extension", extensionID), slog.Any("err", err))
	}
	streams := s.Hub.CloseGroup(group)
	if s.Revoked != nil {
		s.Revoked(extensionID)
	}
	s.log.Info("extension's credentials ended: its streams and devices are cut", slog.Int64("extension", extensionID),
		slog.String("reason", reason), slog.Int("streams", streams), slog.Int("devices", len(devices)))
}
