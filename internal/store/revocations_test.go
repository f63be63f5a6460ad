package store

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
)

// TestRevocationsCommitInSeqOrder: on PostgreSQL a revocation waits for
// one that took its seq earlier and is not committed yet, so that a server
// that read every revocation after the last seq it saw has missed none.
func TestRevocationsCommitInSeqOrder(t *testing.T) {
	if !onPostgres {
		t.Skip("SQLite runs one write transaction at a time")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db := openTest(t)
	seen, err := db.LastRevocation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback()
	if err := db.revokeCredentials(ctx, first, 1, identity.RevokedDisabled); err != nil {
		t.Fatal(err)
	}
	second := goTx(t, ctx, db, func(ctx context.Context, tx *sql.Tx) error {
		return db.revokeCredentials(ctx, tx, 2, identity.RevokedPassword)
	})
	waited, err := second.waits(t, ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if !waited {
		revs, err := db.RevocationsAfter(ctx, seen, 10)
		t.Fatalf("a revocation committed while an earlier one was open: a server reads %+v (%v), goes past it and never reads the earlier one", revs, err)
	}
	if revs, err := db.RevocationsAfter(ctx, seen, 10); err != nil || len(revs) != 0 {
		t.Fatalf("before the first commits: %+v, %v; want none", revs, err)
	}
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := second.ended(t, ctx); err != nil {
		t.Fatal(err)
	}
	revs, err := db.RevocationsAfter(ctx, seen, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 2 || revs[0].ExtensionID != 1 || revs[1].ExtensionID != 2 || revs[0].Seq >= revs[1].Seq {
		t.Fatalf("after both commit: %+v; want extension 1's, then 2's", revs)
	}
}
