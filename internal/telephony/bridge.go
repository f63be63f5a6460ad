package telephony

import (
	"context"
	"fmt"
)

// Warm (attended) transfer: a user with two connected calls, the first
// held for a consultation on the second, joins their remote parties and
// leaves both (Bridge).

// Bridge connects the other party of the owner's party partyID in session
// sessionID to the other party of its party otherPartyID in otherSessionID,
// and the owner's two parties leave their calls (result Transferred): the
// server half of a warm transfer. It returns sessionID after.
func (s *Switch) Bridge(ctx context.Context, owner int64, sessionID, partyID, otherSessionID, otherPartyID string) (Session, error) {
	return Session{}, fmt.Errorf("bridge call %s: %w", sessionID, ErrInvalidState)
}
