package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/webhooks"
)

var _ webhooks.Store = (*DB)(nil)

// subscriptionTime is how subscription times are stored: fixed-width UTC,
// so that text order is time order.
const subscriptionTime = "2006-01-02T15:04:05.000Z"

const subscriptionColumns = `id, account_id, owner_id, event_filters, address, verification_token, secret, status,
	lifetime, created_at, expires_at`

// CreateSubscription stores a new subscription unless its account already
// has limit that did not expire before since (webhooks.ErrLimit); the
// account's subscriptions that did are removed first. Count and insert are
// one transaction, so concurrent requests cannot pass the limit together.
func (db *DB) CreateSubscription(ctx context.Context, s webhooks.Subscription, limit int, since time.Time) error {
	filters, err := encodeFilters(s.Filters)
	if err != nil {
		return err
	}
	cutoff := since.UTC().Format(subscriptionTime)
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockTx(ctx, tx, fmt.Sprintf("subscriptions of account %d", s.AccountID)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM subscriptions WHERE account_id = ? AND expires_at <= ?`, s.AccountID, cutoff); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM subscriptions WHERE account_id = ?`, s.AccountID).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			return webhooks.ErrLimit
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO subscriptions (`+subscriptionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.ID, s.AccountID, s.OwnerID, filters, s.Address, s.VerificationToken, s.Secret, s.Status,
			int64(s.Lifetime/time.Second), s.Created.UTC().Format(subscriptionTime), s.Expires.UTC().Format(subscriptionTime))
		return constraintError(err)
	})
	if err != nil {
		if errors.Is(err, identity.ErrNotFound) {
			return fmt.Errorf("create subscription: no such account or extension: %w", err)
		}
		return fmt.Errorf("create subscription: %w", err)
	}
	return nil
}

// Subscription returns one subscription that did not expire before since.
func (db *DB) Subscription(ctx context.Context, id string, since time.Time) (webhooks.Subscription, error) {
	row := db.sql.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE id = ? AND expires_at > ?`,
		id, since.UTC().Format(subscriptionTime))
	s, err := scanSubscription(row)
	if errors.Is(err, sql.ErrNoRows) {
		return webhooks.Subscription{}, webhooks.ErrNotFound
	}
	if err != nil {
		return webhooks.Subscription{}, fmt.Errorf("subscription %s: %w", id, err)
	}
	return s, nil
}

// Subscriptions lists the account's subscriptions (every account's for
// accountID 0) that did not expire before since, oldest first (in the
// order they were made).
func (db *DB) Subscriptions(ctx context.Context, accountID int64, since time.Time) ([]webhooks.Subscription, error) {
	q := `SELECT ` + subscriptionColumns + ` FROM subscriptions WHERE expires_at > ?`
	args := []any{since.UTC().Format(subscriptionTime)}
	if accountID != 0 {
		q += ` AND account_id = ?`
		args = append(args, accountID)
	}
	rows, err := db.sql.QueryContext(ctx, q+` ORDER BY created_at, rowid`, args...)
	if err != nil {
		return nil, fmt.Errorf("subscriptions: %w", err)
	}
	defer rows.Close()
	out := []webhooks.Subscription{}
	for rows.Next() {
		s, err := scanSubscription(rows)
		if err != nil {
			return nil, fmt.Errorf("subscriptions: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("subscriptions: %w", err)
	}
	return out, nil
}

// UpdateSubscription replaces what a client may change of a subscription.
func (db *DB) UpdateSubscription(ctx context.Context, s webhooks.Subscription) error {
	filters, err := encodeFilters(s.Filters)
	if err != nil {
		return err
	}
	res, err := db.sql.ExecContext(ctx, `UPDATE subscriptions SET event_filters = ?, address = ?, verification_token = ?,
		status = ?, lifetime = ?, expires_at = ? WHERE id = ?`,
		filters, s.Address, s.VerificationToken, s.Status, int64(s.Lifetime/time.Second), s.Expires.UTC().Format(subscriptionTime), s.ID)
	return oneRow(res, err, "update subscription "+s.ID)
}

// SetSubscriptionStatus changes a subscription's status.
func (db *DB) SetSubscriptionStatus(ctx context.Context, id, status string) error {
	res, err := db.sql.ExecContext(ctx, `UPDATE subscriptions SET status = ? WHERE id = ?`, status, id)
	return oneRow(res, err, "set status of subscription "+id)
}

// SetSubscriptionSecrets replaces a subscription's verification token and
// secret, as given: the webhooks service seals them.
func (db *DB) SetSubscriptionSecrets(ctx context.Context, id, verificationToken, secret string) error {
	res, err := db.sql.ExecContext(ctx, `UPDATE subscriptions SET verification_token = ?, secret = ? WHERE id = ?`, verificationToken, secret, id)
	return oneRow(res, err, "set secrets of subscription "+id)
}

// DeleteSubscription removes a subscription.
func (db *DB) DeleteSubscription(ctx context.Context, id string) error {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM subscriptions WHERE id = ?`, id)
	return oneRow(res, err, "delete subscription "+id)
}

// oneRow turns the result of a statement on one subscription into its error.
func oneRow(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	} else if n == 0 {
		return webhooks.ErrNotFound
	}
	return nil
}

func encodeFilters(fs []webhooks.Filter) (string, error) {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.String()
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func scanSubscription(row interface{ Scan(...any) error }) (webhooks.Subscription, error) {
	var s webhooks.Subscription
	var filters, created, expires string
	var lifetime int64
	if err := row.Scan(&s.ID, &s.AccountID, &s.OwnerID, &filters, &s.Address, &s.VerificationToken, &s.Secret, &s.Status,
		&lifetime, &created, &expires); err != nil {
		return s, err
	}
	var raw []string
	if err := json.Unmarshal([]byte(filters), &raw); err != nil {
		return s, fmt.Errorf("subscription %s filters: %w", s.ID, err)
	}
	for _, r := range raw {
		f, err := webhooks.ParseFilter(r, webhooks.Owner{AccountID: s.AccountID, ExtensionID: s.OwnerID})
		if err != nil {
			return s, fmt.Errorf("subscription %s filter %q: %w", s.ID, r, err)
		}
		s.Filters = append(s.Filters, f)
	}
	s.Lifetime = time.Duration(lifetime) * time.Second
	var err error
	if s.Created, err = time.Parse(subscriptionTime, created); err != nil {
		return s, fmt.Errorf("subscription %s: %w", s.ID, err)
	}
	if s.Expires, err = time.Parse(subscriptionTime, expires); err != nil {
		return s, fmt.Errorf("subscription %s: %w", s.ID, err)
	}
	return s, nil
}
