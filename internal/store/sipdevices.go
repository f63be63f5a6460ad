package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/sip"
)

// SIPDevice is a desk phone or softphone of an extension: the SIP
// credentials it registers with. HA1 is the hex MD5 of
// username:realm:password (sip.HA1); the password is never kept, but HA1
// is password-equivalent in its realm, so no method here logs a device and
// no command prints its HA1.
type SIPDevice struct {
	ID          int64
	ExtensionID int64
	Username    string
	HA1         string
	Realm       string
	DisplayName string
	Created     time.Time
}

// maxDisplayName bounds a device's display name, in characters.
const maxDisplayName = 64

const sipDeviceColumns = `id, extension_id, username, ha1, realm, display_name, created_at`

// AddSIPDevice validates d and keeps it, setting its ID and Created.
// Errors wrap identity.ErrInvalid for a bad username, HA1, realm or
// display name, identity.ErrConflict when the username is taken, and
// identity.ErrNotFound when there is no such extension.
func (db *DB) AddSIPDevice(ctx context.Context, d *SIPDevice) error {
	switch {
	case !sip.ValidDeviceUsername(d.Username):
		return fmt.Errorf("SIP username %q: use 1-32 lower-case letters, digits, '.', '_' or '-': %w", d.Username, identity.ErrInvalid)
	case !sip.ValidHA1(d.HA1):
		return fmt.Errorf("SIP device %s: HA1 is not 32 lower-case hex digits: %w", d.Username, identity.ErrInvalid)
	case !sip.ValidRealm(d.Realm):
		return fmt.Errorf("SIP device %s: realm %q: %w", d.Username, d.Realm, identity.ErrInvalid)
	case !validDisplayName(d.DisplayName):
		return fmt.Errorf("SIP device %s: display name: at most %d characters, no control characters: %w", d.Username, maxDisplayName, identity.ErrInvalid)
	}
	var created string
	err := db.sql.QueryRowContext(ctx, `INSERT INTO sip_devices (extension_id, username, ha1, realm, display_name)
		VALUES (?, ?, ?, ?, ?) RETURNING id, created_at`,
		d.ExtensionID, d.Username, d.HA1, d.Realm, d.DisplayName).Scan(&d.ID, &created)
	if err != nil {
		err = constraintError(err)
		switch {
		case errors.Is(err, identity.ErrConflict):
			return fmt.Errorf("SIP username %s: %w", d.Username, identity.ErrConflict)
		case errors.Is(err, identity.ErrNotFound):
			return fmt.Errorf("SIP device %s: extension %d: %w", d.Username, d.ExtensionID, identity.ErrNotFound)
		}
		return fmt.Errorf("add SIP device %s: %w", d.Username, err)
	}
	if d.Created, err = time.Parse(time.RFC3339, created); err != nil {
		return fmt.Errorf("add SIP device %s: %w", d.Username, err)
	}
	return nil
}

// SIPDevices lists every device, by username.
func (db *DB) SIPDevices(ctx context.Context) ([]SIPDevice, error) {
	return db.sipDevices(ctx, `SELECT `+sipDeviceColumns+` FROM sip_devices ORDER BY username`)
}

// SIPDevicesOf lists the devices of an extension, by username.
func (db *DB) SIPDevicesOf(ctx context.Context, extensionID int64) ([]SIPDevice, error) {
	return db.sipDevices(ctx, `SELECT `+sipDeviceColumns+` FROM sip_devices WHERE extension_id = ? ORDER BY username`, extensionID)
}

func (db *DB) sipDevices(ctx context.Context, query string, args ...any) ([]SIPDevice, error) {
	rows, err := db.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list SIP devices: %w", err)
	}
	defer rows.Close()
	var out []SIPDevice
	for rows.Next() {
		d, err := scanSIPDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("list SIP devices: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list SIP devices: %w", err)
	}
	return out, nil
}

// SIPDeviceByUsername returns the device with that SIP username, or
// identity.ErrNotFound.
func (db *DB) SIPDeviceByUsername(ctx context.Context, username string) (SIPDevice, error) {
	d, err := scanSIPDevice(db.sql.QueryRowContext(ctx, `SELECT `+sipDeviceColumns+` FROM sip_devices WHERE username = ?`, username))
	if errors.Is(err, sql.ErrNoRows) {
		return SIPDevice{}, fmt.Errorf("SIP device %q: %w", username, identity.ErrNotFound)
	}
	if err != nil {
		return SIPDevice{}, fmt.Errorf("SIP device %q: %w", username, err)
	}
	return d, nil
}

// RemoveSIPDevice forgets a device; identity.ErrNotFound when there was
// none.
func (db *DB) RemoveSIPDevice(ctx context.Context, username string) error {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM sip_devices WHERE username = ?`, username)
	if err != nil {
		return fmt.Errorf("remove SIP device %q: %w", username, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("remove SIP device %q: %w", username, identity.ErrNotFound)
	}
	return nil
}

func scanSIPDevice(s scanner) (SIPDevice, error) {
	var d SIPDevice
	var created string
	if err := s.Scan(&d.ID, &d.ExtensionID, &d.Username, &d.HA1, &d.Realm, &d.DisplayName, &created); err != nil {
		return d, err
	}
	var err error
	if d.Created, err = time.Parse(time.RFC3339, created); err != nil {
		return d, fmt.Errorf("decode SIP device %q: %w", d.Username, err)
	}
	return d, nil
}

// validDisplayName: at most maxDisplayName characters of UTF-8, none a
// control character, no space at either end.
func validDisplayName(s string) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxDisplayName || strings.TrimSpace(s) != s {
		return false
	}
	return !strings.ContainsFunc(s, unicode.IsControl)
}
