package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/sip"
)

// The store keeps SIP trunks in their canonical form (sip.TrunkConfig.Canonical),
// password included: the server answers the carrier's challenges with it. No
// method here logs a trunk, and sip.TrunkConfig prints without its password.

const trunkColumns = `name, host, transport, outbound_proxy, username, password, auth_username, realm,
	register, register_expiry_ms, from_domain, caller_id, allowed_sources, keep_alive_ms,
	prefixes, deny_prefixes, priority`

// AddTrunk validates a trunk and keeps it; sip.ErrTrunkExists when one of
// its name is kept already, an error wrapping sip.ErrConfig when it is not
// valid.
func (db *DB) AddTrunk(ctx context.Context, c sip.TrunkConfig) error {
	c, err := c.Canonical()
	if err != nil {
		return err
	}
	sources, _ := json.Marshal(nonNil(c.AllowedSources))
	prefixes, _ := json.Marshal(nonNil(c.Prefixes))
	deny, _ := json.Marshal(nonNil(c.DenyPrefixes))
	_, err = db.sql.ExecContext(ctx, `INSERT INTO trunks (`+trunkColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Name, c.Host, string(c.Transport), c.OutboundProxy, c.Username, c.Password, c.AuthUsername, c.Realm,
		c.Register, c.RegisterExpiry.Milliseconds(), c.FromDomain, string(c.CallerID), string(sources),
		c.KeepAlive.Milliseconds(), string(prefixes), string(deny), c.Priority)
	if err != nil {
		if errors.Is(constraintError(err), identity.ErrConflict) {
			return fmt.Errorf("add trunk %s: %w", c.Name, sip.ErrTrunkExists)
		}
		return fmt.Errorf("add trunk %s: %w", c.Name, err)
	}
	return nil
}

// Trunks lists the kept trunks in the order calls try them: by priority,
// then by name.
func (db *DB) Trunks(ctx context.Context) ([]sip.TrunkConfig, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+trunkColumns+` FROM trunks ORDER BY priority, name`)
	if err != nil {
		return nil, fmt.Errorf("list trunks: %w", err)
	}
	defer rows.Close()
	var out []sip.TrunkConfig
	for rows.Next() {
		c, err := scanTrunk(rows)
		if err != nil {
			return nil, fmt.Errorf("list trunks: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Trunk returns the trunk of that name, or sip.ErrUnknownTrunk.
func (db *DB) Trunk(ctx context.Context, name string) (sip.TrunkConfig, error) {
	c, err := scanTrunk(db.sql.QueryRowContext(ctx, `SELECT `+trunkColumns+` FROM trunks WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return sip.TrunkConfig{}, fmt.Errorf("trunk %q: %w", name, sip.ErrUnknownTrunk)
	}
	if err != nil {
		return sip.TrunkConfig{}, fmt.Errorf("trunk %q: %w", name, err)
	}
	return c, nil
}

// RemoveTrunk forgets a trunk; sip.ErrUnknownTrunk when there was none.
func (db *DB) RemoveTrunk(ctx context.Context, name string) error {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM trunks WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("remove trunk %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("remove trunk %q: %w", name, sip.ErrUnknownTrunk)
	}
	return nil
}

func scanTrunk(s scanner) (sip.TrunkConfig, error) {
	var c sip.TrunkConfig
	var transport, callerID, sources, prefixes, deny string
	var expiry, keepAlive int64
	if err := s.Scan(&c.Name, &c.Host, &transport, &c.OutboundProxy, &c.Username, &c.Password, &c.AuthUsername, &c.Realm,
		&c.Register, &expiry, &c.FromDomain, &callerID, &sources, &keepAlive, &prefixes, &deny, &c.Priority); err != nil {
		return c, err
	}
	c.Transport, c.CallerID = sip.Transport(transport), sip.CallerIDPolicy(callerID)
	c.RegisterExpiry, c.KeepAlive = time.Duration(expiry)*time.Millisecond, time.Duration(keepAlive)*time.Millisecond
	if err := errors.Join(
		json.Unmarshal([]byte(sources), &c.AllowedSources),
		json.Unmarshal([]byte(prefixes), &c.Prefixes),
		json.Unmarshal([]byte(deny), &c.DenyPrefixes),
	); err != nil {
		return c, fmt.Errorf("decode trunk %q: %w", c.Name, err)
	}
	c.AllowedSources, c.Prefixes, c.DenyPrefixes = nilIfEmpty(c.AllowedSources), nilIfEmpty(c.Prefixes), nilIfEmpty(c.DenyPrefixes)
	return c, nil
}

// nilIfEmpty gives back a kept empty list as none, as the trunk was given.
func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
