package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/callbridge/widget-server/internal/telephony"
)

var _ telephony.CallLog = (*DB)(nil)

// callLogTime is how start times are stored: RFC 3339 in UTC with a fixed
// width, so that text order is time order.
const callLogTime = "2006-01-02T15:04:05.000Z07:00"

// AddCallRecords stores the records of an ended call in one transaction. A
// record already stored (same id) is left as it is, so a retry is harmless.
func (db *DB) AddCallRecords(ctx context.Context, recs []telephony.CallRecord) error {
	if len(recs) == 0 {
		return nil
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO call_log (id, extension_id, session_id, telephony_session_id,
			party_id, start_time, duration, direction, from_number, from_name, from_ext, to_number, to_name, to_ext,
			type, action, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range recs {
			if _, err := stmt.ExecContext(ctx, r.ID, r.Extension, r.SessionID, r.TelephonySessionID, r.PartyID,
				r.StartTime.UTC().Format(callLogTime), int64(r.Duration.Round(time.Second)/time.Second),
				string(r.Direction), r.From.PhoneNumber, r.From.Name, r.From.ExtensionNumber,
				r.To.PhoneNumber, r.To.Name, r.To.ExtensionNumber, r.Type, r.Action, r.Result); err != nil {
				return fmt.Errorf("record %s: %w", r.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add call records of session %s: %w", recs[0].TelephonySessionID, err)
	}
	return nil
}

// CallRecords returns the extension's call log, newest first, at most limit
// records (all when limit <= 0). Endpoints come back without ExtensionID.
func (db *DB) CallRecords(ctx context.Context, extensionID int64, limit int) ([]telephony.CallRecord, error) {
	if limit <= 0 {
		limit = -1 // no limit
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT id, extension_id, session_id, telephony_session_id, party_id,
		start_time, duration, direction, from_number, from_name, from_ext, to_number, to_name, to_ext,
		type, action, result FROM call_log WHERE extension_id = ? ORDER BY start_time DESC, rowid DESC LIMIT ?`,
		extensionID, limit)
	if err != nil {
		return nil, fmt.Errorf("call log of extension %d: %w", extensionID, err)
	}
	defer rows.Close()
	var recs []telephony.CallRecord
	for rows.Next() {
		var r telephony.CallRecord
		var start, direction string
		var seconds int64
		if err := rows.Scan(&r.ID, &r.Extension, &r.SessionID, &r.TelephonySessionID, &r.PartyID, &start, &seconds,
			&direction, &r.From.PhoneNumber, &r.From.Name, &r.From.ExtensionNumber,
			&r.To.PhoneNumber, &r.To.Name, &r.To.ExtensionNumber, &r.Type, &r.Action, &r.Result); err != nil {
			return nil, fmt.Errorf("call log of extension %d: %w", extensionID, err)
		}
		if r.StartTime, err = time.Parse(time.RFC3339, start); err != nil {
			return nil, fmt.Errorf("call log of extension %d: record %s: %w", extensionID, r.ID, err)
		}
		r.Duration = time.Duration(seconds) * time.Second
		r.Direction = telephony.Direction(direction)
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("call log of extension %d: %w", extensionID, err)
	}
	return recs, nil
}
