package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
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
			type, action, result, legs, recording_id, recording_type, reason_code, reason)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range recs {
			legs, err := encodeLegs(r.Legs)
			if err != nil {
				return fmt.Errorf("record %s: %w", r.ID, err)
			}
			var recID, recType string
			if r.Recording != nil {
				recID, recType = r.Recording.ID, r.Recording.Type
			}
			if _, err := stmt.ExecContext(ctx, r.ID, r.Extension, r.SessionID, r.TelephonySessionID, r.PartyID,
				r.StartTime.UTC().Format(callLogTime), seconds(r.Duration),
				string(r.Direction), r.From.PhoneNumber, r.From.Name, r.From.ExtensionNumber,
				r.To.PhoneNumber, r.To.Name, r.To.ExtensionNumber, r.Type, r.Action, r.Result, legs, recID, recType,
				r.Code, r.Reason); err != nil {
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

// callLogColumns are the columns queryCallRecords scans, in its order.
const callLogColumns = `id, extension_id, session_id, telephony_session_id, party_id, start_time, duration,
	direction, from_number, from_name, from_ext, to_number, to_name, to_ext, type, action, result, legs,
	recording_id, recording_type, reason_code, reason`

// CallRecords returns the extension's call log, newest first, at most limit
// records (all when limit <= 0). Endpoints come back without ExtensionID.
func (db *DB) CallRecords(ctx context.Context, extensionID int64, limit int) ([]telephony.CallRecord, error) {
	if limit <= 0 {
		limit = math.MaxInt64 // no limit (a negative LIMIT is SQLite's alone)
	}
	recs, err := db.queryCallRecords(ctx, `SELECT `+callLogColumns+` FROM call_log WHERE extension_id = ?
		ORDER BY start_time DESC, rowid DESC LIMIT ?`, extensionID, limit)
	if err != nil {
		return nil, fmt.Errorf("call log of extension %d: %w", extensionID, err)
	}
	return recs, nil
}

// CallLogQuery selects records of the call log (docs/api.md "Call log").
type CallLogQuery struct {
	// ExtensionID selects one extension's records; when it is 0, those of
	// every extension of AccountID.
	ExtensionID int64
	AccountID   int64
	// From and To bound the start time: From <= start < To. A zero time
	// leaves that side open.
	From, To time.Time
	// PhoneNumber, when set, is an E.164 number ("+16505550102") or an
	// extension number ("102") that either end of the call must have.
	PhoneNumber string
	// Directions and Types, when set, list the values a record may have.
	Directions []telephony.Direction
	Types      []string
	// Offset records are skipped, then at most Limit returned (none when
	// Limit is 0).
	Offset, Limit int
}

// CallLogPage is one page of a query and the number of records it matches.
type CallLogPage struct {
	Records []telephony.CallRecord
	Total   int
}

// QueryCallLog returns a page of the records q selects, newest first. The
// migrations index every filter, so a page stays fast on millions of records.
func (db *DB) QueryCallLog(ctx context.Context, q CallLogQuery) (CallLogPage, error) {
	var where []string
	var args []any
	if q.ExtensionID != 0 {
		where, args = append(where, "extension_id = ?"), append(args, q.ExtensionID)
	} else {
		where, args = append(where, "extension_id IN (SELECT id FROM extensions WHERE account_id = ?)"), append(args, q.AccountID)
	}
	if !q.From.IsZero() {
		where, args = append(where, "start_time >= ?"), append(args, q.From.UTC().Format(callLogTime))
	}
	if !q.To.IsZero() {
		where, args = append(where, "start_time < ?"), append(args, q.To.UTC().Format(callLogTime))
	}
	if q.PhoneNumber != "" {
		// Either end: the union of two searches, each on its own index, so
		// that a rare number is found without scanning the date range.
		from, to := "from_number", "to_number"
		if !strings.HasPrefix(q.PhoneNumber, "+") {
			from, to = "from_ext", "to_ext"
		}
		scope, scopeArgs := strings.Join(where, " AND "), args
		where = []string{"rowid IN (SELECT rowid FROM call_log WHERE " + scope + " AND " + from + " = ? UNION " +
			"SELECT rowid FROM call_log WHERE " + scope + " AND " + to + " = ?)"}
		args = append(append(append(slices.Clone(scopeArgs), q.PhoneNumber), scopeArgs...), q.PhoneNumber)
	}
	if len(q.Directions) > 0 {
		where = append(where, "direction IN ("+placeholders(len(q.Directions))+")")
		for _, d := range q.Directions {
			args = append(args, string(d))
		}
	}
	if len(q.Types) > 0 {
		where = append(where, "type IN ("+placeholders(len(q.Types))+")")
		for _, t := range q.Types {
			args = append(args, t)
		}
	}
	cond := strings.Join(where, " AND ")
	var page CallLogPage
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM call_log WHERE `+cond, args...).Scan(&page.Total); err != nil {
		return CallLogPage{}, fmt.Errorf("count call log: %w", err)
	}
	if q.Limit <= 0 || q.Offset >= page.Total {
		return page, nil
	}
	recs, err := db.queryCallRecords(ctx, `SELECT `+callLogColumns+` FROM call_log WHERE `+cond+`
		ORDER BY start_time DESC, rowid DESC LIMIT ? OFFSET ?`, append(args, q.Limit, max(q.Offset, 0))...)
	if err != nil {
		return CallLogPage{}, fmt.Errorf("query call log: %w", err)
	}
	page.Records = recs
	return page, nil
}

// CallRecord returns one record by its id; ok is false when there is none.
func (db *DB) CallRecord(ctx context.Context, id string) (rec telephony.CallRecord, ok bool, err error) {
	recs, err := db.queryCallRecords(ctx, `SELECT `+callLogColumns+` FROM call_log WHERE id = ?`, id)
	if err != nil || len(recs) == 0 {
		if err != nil {
			err = fmt.Errorf("call record %s: %w", id, err)
		}
		return telephony.CallRecord{}, false, err
	}
	return recs[0], true, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func (db *DB) queryCallRecords(ctx context.Context, query string, args ...any) ([]telephony.CallRecord, error) {
	rows, err := db.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var recs []telephony.CallRecord
	for rows.Next() {
		var r telephony.CallRecord
		var start, direction, legs, recID, recType string
		var secs int64
		if err := rows.Scan(&r.ID, &r.Extension, &r.SessionID, &r.TelephonySessionID, &r.PartyID, &start, &secs,
			&direction, &r.From.PhoneNumber, &r.From.Name, &r.From.ExtensionNumber,
			&r.To.PhoneNumber, &r.To.Name, &r.To.ExtensionNumber, &r.Type, &r.Action, &r.Result, &legs,
			&recID, &recType, &r.Code, &r.Reason); err != nil {
			return nil, err
		}
		if recID != "" {
			r.Recording = &telephony.RecordingRef{ID: recID, Type: recType}
		}
		if r.StartTime, err = time.Parse(time.RFC3339, start); err != nil {
			return nil, fmt.Errorf("record %s: %w", r.ID, err)
		}
		if r.Legs, err = decodeLegs(legs); err != nil {
			return nil, fmt.Errorf("record %s: legs: %w", r.ID, err)
		}
		r.Duration = time.Duration(secs) * time.Second
		r.Direction = telephony.Direction(direction)
		recs = append(recs, r)
	}
	return recs, rows.Err()
}

// seconds is a duration as stored: whole seconds, rounded.
func seconds(d time.Duration) int64 { return int64(d.Round(time.Second) / time.Second) }

// storedLeg is how a call leg is stored in call_log.legs (JSON). Like the
// record's ends, its ends are stored without ExtensionID.
type storedLeg struct {
	StartTime string       `json:"startTime"` // as start_time
	Duration  int64        `json:"duration"`  // whole seconds connected
	Direction string       `json:"direction"`
	Action    string       `json:"action"`
	Result    string       `json:"result"`
	From      storedLegEnd `json:"from"`
	To        storedLegEnd `json:"to"`
}

type storedLegEnd struct {
	PhoneNumber     string `json:"phoneNumber,omitempty"`
	Name            string `json:"name,omitempty"`
	ExtensionNumber string `json:"extensionNumber,omitempty"`
}

// encodeLegs is the call_log.legs of a record: "" when it has none.
func encodeLegs(legs []telephony.CallLeg) (string, error) {
	if len(legs) == 0 {
		return "", nil
	}
	out := make([]storedLeg, len(legs))
	for i, l := range legs {
		out[i] = storedLeg{StartTime: l.StartTime.UTC().Format(callLogTime), Duration: seconds(l.Duration),
			Direction: string(l.Direction), Action: l.Action, Result: l.Result,
			From: storedLegEnd{l.From.PhoneNumber, l.From.Name, l.From.ExtensionNumber},
			To:   storedLegEnd{l.To.PhoneNumber, l.To.Name, l.To.ExtensionNumber}}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// decodeLegs reads call_log.legs: nil for "", a record stored without legs.
func decodeLegs(s string) ([]telephony.CallLeg, error) {
	if s == "" {
		return nil, nil
	}
	var in []storedLeg
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, err
	}
	legs := make([]telephony.CallLeg, len(in))
	for i, l := range in {
		start, err := time.Parse(time.RFC3339, l.StartTime)
		if err != nil {
			return nil, err
		}
		legs[i] = telephony.CallLeg{StartTime: start, Duration: time.Duration(l.Duration) * time.Second,
			Direction: telephony.Direction(l.Direction), Action: l.Action, Result: l.Result,
			From: telephony.Endpoint{PhoneNumber: l.From.PhoneNumber, Name: l.From.Name, ExtensionNumber: l.From.ExtensionNumber},
			To:   telephony.Endpoint{PhoneNumber: l.To.PhoneNumber, Name: l.To.Name, ExtensionNumber: l.To.ExtensionNumber}}
	}
	return legs, nil
}
