package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/outbox"
)

var _ messaging.Store = (*DB)(nil)

// messageTime is how message times are stored: RFC 3339 in UTC with a
// fixed width, so that text order is time order.
const messageTime = "2006-01-02T15:04:05.000Z07:00"

// messageColumns are the columns scanMessage reads, in its order.
const messageColumns = `id, account_id, extension_id, type, direction, from_number, from_ext, from_name, recipients,
	subject, creation_time, last_modified_time, read_status, message_status, availability, conversation_id,
	delivery_error_code, delivery_error_reason, attempts, COALESCE(CAST(origin_id AS TEXT), ''), COALESCE(provider_id, ''), pg_to_department`

// messageQuerier is what both *sql.DB and *sql.Tx offer.
type messageQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// AddMessages stores new copies in one transaction, and job with the first
// one when it is new. A copy whose origin and extension, or whose provider
// id, is stored already comes back as stored, with created false.
func (db *DB) AddMessages(ctx context.Context, msgs []messaging.Message, job *outbox.Job) ([]messaging.Message, []bool, error) {
	stored := make([]messaging.Message, 0, len(msgs))
	created := make([]bool, 0, len(msgs))
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		stored, created = stored[:0], created[:0]
		for _, m := range msgs {
			if key := copyKey(m); key != "" {
				if err := db.lockTx(ctx, tx, key); err != nil {
					return err
				}
			}
			old, found, err := existingCopy(ctx, tx, m)
			if err != nil {
				return err
			}
			if found {
				stored, created = append(stored, old), append(created, false)
				continue
			}
			if m.ID, err = insertMessage(ctx, tx, m); err != nil {
				return err
			}
			if m.Attachments, err = insertAttachments(ctx, tx, m.ID, m.Attachments); err != nil {
				return err
			}
			stored, created = append(stored, m), append(created, true)
		}
		if job == nil || len(stored) == 0 || !created[0] {
			return nil
		}
		job.Ref = stored[0].ID
		return db.insertJob(ctx, tx, job)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("add messages: %w", err)
	}
	return stored, created, nil
}

// existingCopy finds the stored copy that m repeats, if any: the same
// delivery to the same extension, or the same message of the provider.
// copyKey names what makes m a copy of a stored message, for lockTx: its
// origin and extension, or its provider id; "" when nothing does.
func copyKey(m messaging.Message) string {
	switch {
	case m.OriginID != "":
		return "message copy " + m.OriginID + " of extension " + strconv.FormatInt(m.ExtensionID, 10)
	case m.ProviderID != "":
		return "message from provider " + m.ProviderID
	}
	return ""
}

func existingCopy(ctx context.Context, q messageQuerier, m messaging.Message) (messaging.Message, bool, error) {
	var row *sql.Row
	switch {
	case m.OriginID != "":
		row = q.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE origin_id = ? AND extension_id = ?`, m.OriginID, m.ExtensionID)
	case m.ProviderID != "":
		row = q.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE provider_id = ?`, m.ProviderID)
	default:
		return messaging.Message{}, false, nil
	}
	old, err := scanMessage(row)
	if errors.Is(err, sql.ErrNoRows) {
		return messaging.Message{}, false, nil
	}
	if err == nil {
		msgs := []messaging.Message{old}
		err = withAttachments(ctx, q, msgs)
		old = msgs[0]
	}
	return old, err == nil, err
}

func insertMessage(ctx context.Context, tx *sql.Tx, m messaging.Message) (string, error) {
	to, err := json.Marshal(m.To)
	if err != nil {
		return "", err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO messages (account_id, extension_id, type, direction, from_number, from_ext,
		from_name, recipients, subject, creation_time, last_modified_time, read_status, message_status, availability,
		conversation_id, delivery_error_code, delivery_error_reason, attempts, origin_id, provider_id, pg_to_department)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		m.AccountID, m.ExtensionID, string(m.Type), string(m.Direction), m.From.PhoneNumber, m.From.ExtensionNumber,
		m.From.Name, string(to), m.Subject, m.CreationTime.UTC().Format(messageTime), m.LastModifiedTime.UTC().Format(messageTime),
		string(m.ReadStatus), string(m.Status), string(m.Availability), m.ConversationID, m.DeliveryErrorCode,
		m.DeliveryErrorReason, m.Attempts, nullable(m.OriginID), nullable(m.ProviderID), m.ToDepartment).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("insert message of extension %d: %w", m.ExtensionID, err)
	}
	return strconv.FormatInt(id, 10), nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// messageID parses a message id; anything but a positive integer is no id.
func messageID(id string) (int64, bool) {
	if id == "" || len(id) > 18 || strings.TrimLeft(id, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(id, 10, 64)
	return n, err == nil && n > 0
}

// Message returns one copy by id, or messaging.ErrNotFound.
func (db *DB) Message(ctx context.Context, id string) (messaging.Message, error) {
	return oneMessage(ctx, db.sql, id)
}

func oneMessage(ctx context.Context, q messageQuerier, id string) (messaging.Message, error) {
	n, ok := messageID(id)
	if !ok {
		return messaging.Message{}, fmt.Errorf("message %q: %w", id, messaging.ErrNotFound)
	}
	m, err := scanMessage(q.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = ?`, n))
	if errors.Is(err, sql.ErrNoRows) {
		return messaging.Message{}, fmt.Errorf("message %s: %w", id, messaging.ErrNotFound)
	}
	if err != nil {
		return messaging.Message{}, fmt.Errorf("message %s: %w", id, err)
	}
	msgs := []messaging.Message{m}
	if err := withAttachments(ctx, q, msgs); err != nil {
		return messaging.Message{}, fmt.Errorf("message %s: %w", id, err)
	}
	return msgs[0], nil
}

// UpdateMessage applies change to a copy in a transaction and saves what
// it changed: read status, status, availability, the delivery error, the
// attempts and the last-modified time. A copy that becomes Deleted loses
// its attachments, and their files once the change is committed.
func (db *DB) UpdateMessage(ctx context.Context, id string, change func(*messaging.Message) bool) (messaging.Message, bool, error) {
	var m messaging.Message
	var changed bool
	var files []string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		files = nil
		if err := db.lockTx(ctx, tx, "message "+id); err != nil {
			return err
		}
		if m, err = oneMessage(ctx, tx, id); err != nil {
			return err
		}
		if changed = change(&m); !changed {
			return nil
		}
		if m.Availability == messaging.Deleted {
			if files, err = dropAttachments(ctx, tx, m); err != nil {
				return err
			}
			m.Attachments = nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE messages SET read_status = ?, message_status = ?, availability = ?,
			delivery_error_code = ?, delivery_error_reason = ?, attempts = ?, last_modified_time = ? WHERE id = ?`,
			string(m.ReadStatus), string(m.Status), string(m.Availability), m.DeliveryErrorCode, m.DeliveryErrorReason,
			m.Attempts, m.LastModifiedTime.UTC().Format(messageTime), m.ID)
		return err
	})
	if err != nil {
		return messaging.Message{}, false, fmt.Errorf("update message %s: %w", id, err)
	}
	for _, f := range files {
		db.removeAudio(f)
	}
	return m, changed, nil
}

// QueryMessages returns a page of the copies q selects, newest first. The
// migration indexes the filters by extension and time.
func (db *DB) QueryMessages(ctx context.Context, q messaging.Query) (messaging.Page, error) {
	where := []string{"extension_id = ?"}
	args := []any{q.ExtensionID}
	in := func(column string, values []string) {
		if len(values) > 0 {
			where = append(where, column+" IN ("+placeholders(len(values))+")")
			for _, v := range values {
				args = append(args, v)
			}
		}
	}
	in("type", strs(q.Types))
	in("direction", strs(q.Directions))
	in("read_status", strs(q.ReadStatuses))
	in("availability", strs(q.Availabilities))
	if q.ConversationID != "" {
		where, args = append(where, "conversation_id = ?"), append(args, q.ConversationID)
	}
	if !q.From.IsZero() {
		where, args = append(where, "creation_time >= ?"), append(args, q.From.UTC().Format(messageTime))
	}
	if !q.To.IsZero() {
		where, args = append(where, "creation_time < ?"), append(args, q.To.UTC().Format(messageTime))
	}
	if q.PhoneNumber != "" {
		field := "phoneNumber"
		from := "from_number"
		if !strings.HasPrefix(q.PhoneNumber, "+") {
			field, from = "extensionNumber", "from_ext"
		}
		where = append(where, "("+from+" = ? OR "+db.dialect.jsonArrayHasField("recipients", field)+")")
		args = append(args, q.PhoneNumber, q.PhoneNumber)
	}
	cond := strings.Join(where, " AND ")
	var page messaging.Page
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE `+cond, args...).Scan(&page.Total); err != nil {
		return messaging.Page{}, fmt.Errorf("count messages: %w", err)
	}
	if q.Limit <= 0 || q.Offset >= page.Total {
		return page, nil
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE `+cond+`
		ORDER BY creation_time DESC, id DESC LIMIT ? OFFSET ?`, append(args, q.Limit, max(q.Offset, 0))...)
	if err != nil {
		return messaging.Page{}, fmt.Errorf("query messages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return messaging.Page{}, fmt.Errorf("query messages: %w", err)
		}
		page.Messages = append(page.Messages, m)
	}
	if err := rows.Err(); err != nil {
		return messaging.Page{}, fmt.Errorf("query messages: %w", err)
	}
	if err := withAttachments(ctx, db.sql, page.Messages); err != nil {
		return messaging.Page{}, fmt.Errorf("query messages: %w", err)
	}
	return page, nil
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

func scanMessage(s scanner) (messaging.Message, error) {
	var m messaging.Message
	var id int64
	var typ, direction, to, created, modified, read, status, availability string
	if err := s.Scan(&id, &m.AccountID, &m.ExtensionID, &typ, &direction, &m.From.PhoneNumber, &m.From.ExtensionNumber,
		&m.From.Name, &to, &m.Subject, &created, &modified, &read, &status, &availability, &m.ConversationID,
		&m.DeliveryErrorCode, &m.DeliveryErrorReason, &m.Attempts, &m.OriginID, &m.ProviderID, &m.ToDepartment); err != nil {
		return messaging.Message{}, err
	}
	m.ID = strconv.FormatInt(id, 10)
	m.Type, m.Direction = messaging.Type(typ), messaging.Direction(direction)
	m.ReadStatus, m.Status, m.Availability = messaging.ReadStatus(read), messaging.Status(status), messaging.Availability(availability)
	if err := json.Unmarshal([]byte(to), &m.To); err != nil {
		return messaging.Message{}, fmt.Errorf("message %d: recipients: %w", id, err)
	}
	var err error
	if m.CreationTime, err = time.Parse(time.RFC3339, created); err != nil {
		return messaging.Message{}, fmt.Errorf("message %d: %w", id, err)
	}
	if m.LastModifiedTime, err = time.Parse(time.RFC3339, modified); err != nil {
		return messaging.Message{}, fmt.Errorf("message %d: %w", id, err)
	}
	return m, nil
}

// ExtensionByDirectNumber returns the extension, of any account, that has
// number (E.164) among its direct numbers, or identity.ErrNotFound.
func (db *DB) ExtensionByDirectNumber(ctx context.Context, number string) (identity.Extension, error) {
	row := db.sql.QueryRowContext(ctx, `SELECT `+db.extensionColumns()+` FROM extensions
		WHERE `+db.dialect.jsonArrayHas("extensions.direct_numbers")+` ORDER BY id LIMIT 1`, number)
	return oneExtension(row, fmt.Sprintf("extension with direct number %q", number))
}
