package store

import (
	"context"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/telephony"
)

// benchRecords is the size of the benchmark's call log.
const benchRecords = 1_000_000

// seedBenchCallLog fills the call log with n records over the year before
// now, in one INSERT … SELECT inside SQLite: a quarter of them belong to
// one busy extension (about 4,800 a week), the rest to 300 others of the
// same account. It returns the account's and the busy extension's ids.
func seedBenchCallLog(b *testing.B, db *DB, n int, now time.Time) (account, busy int64) {
	b.Helper()
	ctx := context.Background()
	if _, err := db.sql.ExecContext(ctx, `INSERT INTO accounts (id, company, main_number, country_code) VALUES (1, 'Bench', '+16505550100', 'US')`); err != nil {
		b.Fatal(err)
	}
	if _, err := db.sql.ExecContext(ctx, `INSERT INTO extensions (id, account_id, number, name, email, role, status, direct_numbers, password_hash)
		WITH RECURSIVE e(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM e WHERE i < 301)
		SELECT i, 1, CAST(100 + i AS TEXT), 'User ' || i, 'u' || i || '@bench.test', 'user', 'Enabled', '[]', 'x' FROM e`); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	// Indexes are built after the rows: sorting once beats a million
	// scattered index inserts.
	rows, err := db.sql.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'call_log' AND sql IS NOT NULL`)
	if err != nil {
		b.Fatal(err)
	}
	var indexes [][2]string
	for rows.Next() {
		var name, sql string
		if err := rows.Scan(&name, &sql); err != nil {
			b.Fatal(err)
		}
		indexes = append(indexes, [2]string{name, sql})
	}
	rows.Close()
	for _, ix := range indexes {
		if _, err := db.sql.ExecContext(ctx, `DROP INDEX `+ix[0]); err != nil {
			b.Fatal(err)
		}
	}
	// record i starts i * (one year / n) before now; its extension is 1 for
	// every fourth record, else one of 2..301; numbers cycle through 5,000
	// outside numbers.
	_, err = db.sql.ExecContext(ctx, `INSERT INTO call_log (id, extension_id, session_id, telephony_session_id, party_id,
			start_time, duration, direction, from_number, from_name, from_ext, to_number, to_name, to_ext, type, action, result)
		WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i < ? - 1)
		SELECT printf('p-%08d', i), CASE WHEN i % 4 = 0 THEN 1 ELSE 2 + i % 300 END, CAST(1700000000000 + i AS TEXT),
			printf('s-%08d', i), printf('p-%08d', i),
			strftime('%Y-%m-%dT%H:%M:%fZ', ? - i * (31536.0 / (? / 1000.0)), 'unixepoch'), i % 300,
			CASE WHEN i / 4 % 2 = 0 THEN 'Inbound' ELSE 'Outbound' END,
			printf('+1415555%04d', i % 5000), 'Caller', '', '+16505550101', 'User', '101',
			'Voice', 'Phone Call', CASE WHEN i % 3 = 0 THEN 'Missed' ELSE 'Call connected' END
		FROM r`, n, float64(now.UnixMilli())/1000, n)
	if err != nil {
		b.Fatal(err)
	}
	for _, ix := range indexes {
		if _, err := db.sql.ExecContext(ctx, ix[1]); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded %d call-log records in %v", n, time.Since(start).Round(time.Millisecond))
	return 1, 1
}

// BenchmarkCallLogPage measures one page of the API's call log (count and
// records) on a million records, as GET …/call-log asks for it.
func BenchmarkCallLogPage(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC()
	account, busy := seedBenchCallLog(b, db, benchRecords, now)
	week := now.Add(-7 * 24 * time.Hour)
	cases := []struct {
		name string
		q    CallLogQuery
	}{
		{"extension/last7days/page1", CallLogQuery{ExtensionID: busy, From: week, Limit: 100}},
		{"extension/last7days/inbound/page3", CallLogQuery{ExtensionID: busy, From: week,
			Directions: []telephony.Direction{telephony.Inbound}, Offset: 200, Limit: 100}},
		{"extension/year/phoneNumber", CallLogQuery{ExtensionID: busy, From: now.AddDate(-1, 0, 0),
			PhoneNumber: "+14155550040", Limit: 100}},
		{"extension/last7days/page40", CallLogQuery{ExtensionID: busy, From: week, Offset: 3900, Limit: 100}},
		{"account/last7days/page1", CallLogQuery{AccountID: account, From: week, Limit: 100}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var page CallLogPage
			for b.Loop() {
				if page, err = db.QueryCallLog(ctx, c.q); err != nil {
					b.Fatal(err)
				}
			}
			if len(page.Records) == 0 {
				b.Fatalf("empty page of %d", page.Total)
			}
			b.ReportMetric(float64(page.Total), "matching")
		})
	}
}
