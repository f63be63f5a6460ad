package telephony

import (
	"context"
	"fmt"
)

// Moving a call between the devices of its user.

// Move offers the owner's connected party partyID of session sessionID to
// other devices of the owner: devices, or every other registered device
// when devices is empty. They ring the call; answering it on one of them
// (Answer) moves the party there and closes the old device's leg.
func (s *Switch) Move(ctx context.Context, owner int64, sessionID, partyID string, devices []string) error {
	return fmt.Errorf("move call %s: %w", sessionID, ErrInvalidState)
}

// Pickup moves to device at once the party of device's extension that
// another of its devices carries connected in session sessionID: device's
// leg answers offerSDP, the old device's leg closes.
func (s *Switch) Pickup(ctx context.Context, device, sessionID, offerSDP string) (Session, string, error) {
	return Session{}, "", fmt.Errorf("pick up call %s: %w", sessionID, ErrInvalidState)
}
