package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
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
	if saved, err := db.SaveJob(ctx, a1, ""); err != nil || !saved {
		t.Fatalf("save: %v %v", saved, err)
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
	if saved, err := db.SaveJob(ctx, a1, ""); err != nil || saved {
		t.Fatalf("save of a job gone: %v %v", saved, err)
	}
	if got := refs("hook", "sms"); !slices.Equal(got, []string{"b1", "s1"}) {
		t.Fatalf("at the end %v", got)
	}
}

// TestJobClaims: only a target's first job can be claimed, when it is due;
// the engine that holds it renews it, another takes it only after the
// lease lapsed, and then the first can no longer record a failure.
func TestJobClaims(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	lease := 30 * time.Second
	add := func(target, ref string, due time.Time) outbox.Job {
		t.Helper()
		j := outbox.Job{Kind: "hook", Target: target, Ref: ref, NextAttempt: due}
		if err := db.AddJob(ctx, &j); err != nil {
			t.Fatal(err)
		}
		return j
	}
	claim := func(target, by string, now time.Time) (outbox.Job, bool) {
		t.Helper()
		j, claimed, err := db.ClaimJob(ctx, "hook", target, by, now, now.Add(lease))
		if err != nil {
			t.Fatalf("claim %s for %s: %v", target, by, err)
		}
		return j, claimed
	}
	stored := func(id int64) outbox.Job {
		t.Helper()
		all, err := db.Jobs(ctx, "hook")
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range all {
			if j.ID == id {
				return j
			}
		}
		return outbox.Job{}
	}
	a1 := add("a", "a1", msgT0)
	a2 := add("a", "a2", msgT0)
	later := add("b", "b1", msgT0.Add(time.Minute))

	if j, claimed := claim("none", "n1", msgT0); claimed || j.ID != 0 {
		t.Fatalf("claim of a target without jobs: %+v %v", j, claimed)
	}
	if j, claimed := claim("b", "n1", msgT0); claimed || j.ID != later.ID || j.ClaimedBy != "" {
		t.Fatalf("claim of a job not due: %+v %v", j, claimed)
	}
	if _, _, err := db.ClaimJob(ctx, "hook", "a", "", msgT0, msgT0.Add(lease)); err == nil {
		t.Fatal("a claim with no engine id")
	}

	// n1 claims the first job; n2 finds it taken, and never gets the second.
	j, claimed := claim("a", "n1", msgT0)
	if !claimed || j.ID != a1.ID || j.ClaimedBy != "n1" || !j.ClaimedUntil.Equal(msgT0.Add(lease)) {
		t.Fatalf("first claim %+v %v", j, claimed)
	}
	if got := stored(a1.ID); got.ClaimedBy != "n1" || !got.ClaimedUntil.Equal(msgT0.Add(lease)) || !reflect.DeepEqual(got, j) {
		t.Fatalf("stored %+v, claimed %+v", got, j)
	}
	if j, claimed := claim("a", "n2", msgT0.Add(time.Second)); claimed || j.ID != a1.ID || j.ClaimedBy != "n1" {
		t.Fatalf("claim of a job held by another: %+v %v", j, claimed)
	}
	if got := stored(a2.ID); got.ClaimedBy != "" {
		t.Fatalf("the second job was claimed: %+v", got)
	}

	// n1 renews, by a claim or by RenewJob; n2 cannot renew what it does not hold.
	if j, claimed := claim("a", "n1", msgT0.Add(10*time.Second)); !claimed || !j.ClaimedUntil.Equal(msgT0.Add(10*time.Second+lease)) {
		t.Fatalf("renewal by a claim %+v %v", j, claimed)
	}
	if held, err := db.RenewJob(ctx, a1.ID, "n1", msgT0.Add(20*time.Second+lease)); err != nil || !held {
		t.Fatalf("renew: %v %v", held, err)
	}
	if held, err := db.RenewJob(ctx, a1.ID, "n2", msgT0.Add(time.Hour)); err != nil || held {
		t.Fatalf("renewal by another: %v %v", held, err)
	}
	until := msgT0.Add(20*time.Second + lease)
	if got := stored(a1.ID); !got.ClaimedUntil.Equal(until) {
		t.Fatalf("after the renewals %+v", got)
	}
	if _, claimed := claim("a", "n2", until.Add(-time.Millisecond)); claimed {
		t.Fatal("claimed at the end of another's lease")
	}

	// A claimed job is not trimmed; nor is one saved without its claim.
	if n, err := db.TrimJobs(ctx, "hook", "a", 0, 0); err != nil || n != 1 {
		t.Fatalf("trim: %d %v", n, err)
	}
	if got := stored(a1.ID); got.ID != a1.ID {
		t.Fatal("the claimed job was trimmed")
	}
	a3 := add("a", "a3", msgT0)
	failed := a1
	failed.Attempts, failed.LastError, failed.NextAttempt = 1, "503", msgT0.Add(time.Hour)
	if saved, err := db.SaveJob(ctx, failed, ""); err != nil || saved {
		t.Fatalf("saved with no claim: %v %v", saved, err)
	}

	// The lease lapses: n2 takes the job over, and n1 has lost it.
	j, claimed = claim("a", "n2", until)
	if !claimed || j.ID != a1.ID || j.ClaimedBy != "n2" {
		t.Fatalf("claim after the lease %+v %v", j, claimed)
	}
	if held, err := db.RenewJob(ctx, a1.ID, "n1", until.Add(time.Hour)); err != nil || held {
		t.Fatalf("renewal of a lost claim: %v %v", held, err)
	}
	if saved, err := db.SaveJob(ctx, failed, "n1"); err != nil || saved {
		t.Fatalf("saved by the engine that lost it: %v %v", saved, err)
	}
	if got := stored(a1.ID); got.Attempts != 0 || got.ClaimedBy != "n2" {
		t.Fatalf("after a lost save %+v", got)
	}
	if saved, err := db.SaveJob(ctx, failed, "n2"); err != nil || !saved {
		t.Fatalf("save by the holder: %v %v", saved, err)
	}
	want := failed
	want.ClaimedBy, want.ClaimedUntil = "", time.Time{}
	if got := stored(a1.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("saved %+v, want %+v (released)", got, want)
	}
	// Released and put off: nobody can claim it before it is due again.
	if j, claimed := claim("a", "n1", msgT0.Add(time.Minute)); claimed || j.ID != a1.ID {
		t.Fatalf("claim of the job put off %+v %v", j, claimed)
	}
	if j, claimed := claim("a", "n1", msgT0.Add(time.Hour)); !claimed || j.ID != a1.ID || j.Attempts != 1 {
		t.Fatalf("claim when due again %+v %v", j, claimed)
	}

	// A finished job goes whoever holds it; the next is then the first.
	if err := db.DeleteJob(ctx, a1.ID); err != nil {
		t.Fatal(err)
	}
	if j, claimed := claim("a", "n2", msgT0.Add(time.Hour)); !claimed || j.ID != a3.ID {
		t.Fatalf("claim after the first is done %+v %v", j, claimed)
	}
}

// TestJobClaimRace: engines that claim the same target at the same moment
// get it once.
func TestJobClaimRace(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	for _, ref := range []string{"1", "2"} {
		if err := db.AddJob(ctx, &outbox.Job{Kind: "hook", Target: "a", Ref: ref, NextAttempt: msgT0}); err != nil {
			t.Fatal(err)
		}
	}
	const engines = 8
	var wg sync.WaitGroup
	won := make(chan string, engines)
	start := make(chan struct{})
	for i := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			j, claimed, err := db.ClaimJob(ctx, "hook", "a", fmt.Sprint("n", i), msgT0, msgT0.Add(time.Minute))
			if err != nil {
				t.Error(err)
				return
			}
			if claimed {
				won <- j.Ref
			}
		}()
	}
	close(start)
	wg.Wait()
	close(won)
	var got []string
	for ref := range won {
		got = append(got, ref)
	}
	if !slices.Equal(got, []string{"1"}) {
		t.Fatalf("claims %v, want the first job once", got)
	}
}

// TestJobClaimSkipsLocked: on PostgreSQL a claim does not wait for a
// transaction that holds the job's row: it finds the job taken.
func TestJobClaimSkipsLocked(t *testing.T) {
	if !onPostgres {
		t.Skip("SQLite runs one write transaction at a time")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := openTest(t)
	j := outbox.Job{Kind: "hook", Target: "a", Ref: "1", NextAttempt: msgT0}
	if err := db.AddJob(ctx, &j); err != nil {
		t.Fatal(err)
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT id FROM outbox WHERE id = ? FOR UPDATE`, j.ID); err != nil {
		t.Fatal(err)
	}
	got, claimed, err := db.ClaimJob(ctx, "hook", "a", "n1", msgT0, msgT0.Add(time.Minute))
	if err != nil || claimed || got.ID != j.ID {
		t.Fatalf("claim of a locked job: %+v %v %v", got, claimed, err)
	}
	tx.Rollback()
	if got, claimed, err := db.ClaimJob(ctx, "hook", "a", "n1", msgT0, msgT0.Add(time.Minute)); err != nil || !claimed || got.ID != j.ID {
		t.Fatalf("claim once unlocked: %+v %v %v", got, claimed, err)
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

// TestJobsCommitInIDOrderPerTarget: on PostgreSQL a job waits for one of
// its target that took its id earlier and is not committed yet, so that
// the target's first job stays its first; jobs of other targets do not
// wait.
func TestJobsCommitInIDOrderPerTarget(t *testing.T) {
	if !onPostgres {
		t.Skip("SQLite runs one write transaction at a time")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db := openTest(t)
	add := func(ctx context.Context, tx *sql.Tx, kind, target, ref string) error {
		return db.insertJob(ctx, tx, &outbox.Job{Kind: kind, Target: target, Ref: ref, NextAttempt: msgT0})
	}
	first, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback()
	if err := add(ctx, first, "hook", "a", "1"); err != nil {
		t.Fatal(err)
	}
	for _, other := range []outbox.Target{{Kind: "hook", Target: "b"}, {Kind: "sms", Target: "a"}} {
		tx := goTx(t, ctx, db, func(ctx context.Context, tx *sql.Tx) error { return add(ctx, tx, other.Kind, other.Target, "other") })
		if waited, err := tx.waits(t, ctx, db); waited || err != nil {
			t.Fatalf("a job of %+v waited for one of hook a (%v)", other, err)
		}
	}
	second := goTx(t, ctx, db, func(ctx context.Context, tx *sql.Tx) error { return add(ctx, tx, "hook", "a", "2") })
	waited, err := second.waits(t, ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if !waited {
		j, _, err := db.NextJob(ctx, "hook", "a")
		t.Fatalf("a job committed while an earlier one of its target was open: the first job is %q (%v), and the earlier one goes out after it", j.Ref, err)
	}
	if j, ok, err := db.NextJob(ctx, "hook", "a"); err != nil || ok {
		t.Fatalf("before the first commits: %+v, %v, %v; want none", j, ok, err)
	}
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := second.ended(t, ctx); err != nil {
		t.Fatal(err)
	}
	jobs, err := db.Jobs(ctx, "hook")
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, j := range jobs {
		if j.Target == "a" {
			refs = append(refs, j.Ref)
		}
	}
	if !slices.Equal(refs, []string{"1", "2"}) {
		t.Fatalf("jobs of hook a in id order: %v, want 1, 2", refs)
	}
}
