package store

import (
	"context"
	"database/sql"
	"io/fs"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/outbox"
)

func TestJobs(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	add := func(kind, target, ref string) outbox.Job {
		t.Helper()
		j := outbox.Job{Kind: kind, Target: target, Ref: ref, Payload: []byte(ref), NextAttempt: msgT0}
		if err := db.AddJob(ctx, &j); err != nil || j.ID == 0 {
			t.Fatalf("add %s: %v", ref, err)
		}
		return j
	}
	a1 := add("hook", "a", "a1")
	for _, ref := range []string{"a2", "a3", "a4"} {
		add("hook", "a", ref)
	}
	add("hook", "b", "b1")
	add("sms", "a", "s1")
	if counts, err := db.JobCounts(ctx); err != nil || !maps.Equal(counts, map[string]int{"hook": 5, "sms": 1}) {
		t.Fatalf("job counts %v, %v", counts, err)
	}
	refs := func(kinds ...string) []string {
		t.Helper()
		all, err := db.Jobs(ctx, kinds...)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, j := range all {
			out = append(out, j.Ref)
		}
		return out
	}

	targets, err := db.JobTargets(ctx, []string{"hook"})
	sort.Slice(targets, func(i, j int) bool { return targets[i].Target < targets[j].Target })
	if err != nil || !slices.Equal(targets, []outbox.Target{{Kind: "hook", Target: "a"}, {Kind: "hook", Target: "b"}}) {
		t.Fatalf("targets %v, %v", targets, err)
	}
	if next, ok, err := db.NextJob(ctx, "hook", "a"); err != nil || !ok || !reflect.DeepEqual(next, a1) {
		t.Fatalf("next %+v %v %v, want %+v", next, ok, err, a1)
	}
	if _, ok, err := db.NextJob(ctx, "hook", "c"); ok || err != nil {
		t.Fatalf("next of nothing: %v %v", ok, err)
	}

	// A failed attempt is saved; a job gone stays gone.
	a1.Attempts, a1.LastError, a1.NextAttempt = 2, "503", msgT0.Add(time.Minute)
	if err := db.SaveJob(ctx, a1); err != nil {
		t.Fatal(err)
	}
	if next, _, _ := db.NextJob(ctx, "hook", "a"); !reflect.DeepEqual(next, a1) {
		t.Fatalf("saved %+v, want %+v", next, a1)
	}

	// Trim keeps the newest besides the one being attempted.
	if n, err := db.TrimJobs(ctx, "hook", "a", 2, a1.ID); err != nil || n != 1 {
		t.Fatalf("trim: %d %v", n, err)
	}
	if got := refs("hook"); !slices.Equal(got, []string{"a1", "a3", "a4", "b1"}) {
		t.Fatalf("after trim %v", got)
	}
	if n, err := db.TrimJobs(ctx, "hook", "a", 1, 0); err != nil || n != 2 {
		t.Fatalf("trim with none attempted: %d %v", n, err)
	}
	if n, err := db.DeleteJobs(ctx, "hook", "a"); err != nil || n != 1 {
		t.Fatalf("delete a: %d %v", n, err)
	}
	if err := db.DeleteJob(ctx, a1.ID); err != nil {
		t.Fatalf("delete a job already gone: %v", err)
	}
	a1.Attempts = 3
	if err := db.SaveJob(ctx, a1); err != nil {
		t.Fatal(err)
	}
	if got := refs("hook", "sms"); !slices.Equal(got, []string{"b1", "s1"}) {
		t.Fatalf("at the end %v", got)
	}
}

// TestDeliveriesMoveToOutbox opens a database of schema 11 that has
// pending message deliveries: after the migration the outbox has them, to
// the provider as SMS jobs and on this server as local ones, in order.
func TestDeliveriesMoveToOutbox(t *testing.T) {
	sqliteOnly(t)
	ctx := context.Background()
	dir := t.TempDir()
	old, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	sort.Strings(names)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := old.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT '')`)
	for _, name := range names {
		if filepath.Base(name) >= "0012" {
			break
		}
		body, _ := migrations.ReadFile(name)
		stmt, err := sqliteDialect.expand(name, string(body))
		if err != nil {
			t.Fatal(err)
		}
		exec(stmt)
		exec(`INSERT INTO schema_version (version) VALUES (?)`, strings.TrimLeft(filepath.Base(name)[:4], "0"))
	}
	for id, conv := range map[int]string{7: "c1", 8: "c2", 9: "c1"} {
		exec(`INSERT INTO messages (id, account_id, extension_id, type, direction, from_number, from_ext, from_name, recipients,
			subject, creation_time, last_modified_time, read_status, message_status, availability, conversation_id)
			VALUES (?, 1, 1, 'SMS', 'Outbound', '+16505550101', '', '', '[]', 'hi', '', '', 'Read', 'Queued', 'Alive', ?)`, id, conv)
	}
	exec(`INSERT INTO message_deliveries (message_id, route, recipients, attempts, next_attempt, last_error) VALUES
		(9, 'on-net', '[4,5]', 0, '2026-11-21T10:00:30.000Z', ''),
		(7, 'provider', '[]', 2, '2026-11-21T10:00:04.000Z', 'webhook answered 503'),
		(8, 'test-line', '[]', 0, '2026-11-21T10:00:31.000Z', '')`)
	old.Close()

	db, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Jobs(ctx, messaging.KindSMS, messaging.KindLocal)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i].ID = 0
	}
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	local := func(route messaging.Route, conv, ref string, recipients []int64, due string) outbox.Job {
		j := messaging.Delivery{Route: route, Recipients: recipients}.Job(conv, at(due))
		j.Ref = ref
		return j
	}
	want := []outbox.Job{
		{Kind: messaging.KindSMS, Target: "c1", Ref: "7", Attempts: 2, NextAttempt: at("2026-11-21T10:00:04Z"), LastError: "webhook answered 503"},
		local(messaging.RouteTestLine, "c2", "8", nil, "2026-11-21T10:00:31Z"),
		local(messaging.RouteOnNet, "c1", "9", []int64{4, 5}, "2026-11-21T10:00:30Z"),
	}
	want[1].Payload = []byte(`{"route":"test-line","recipients":[]}`) // as the old row had it
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("outbox after the migration\n got %+v\nwant %+v", got, want)
	}
	var n int
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'message_deliveries'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("message_deliveries is still there: %d %v", n, err)
	}
}
