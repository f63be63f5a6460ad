package api

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/store"
)

// widgetsHeard records the presence changes the keeper published, which
// the dispatcher (internal/bridge) tells the extensions' widgets.
type widgetsHeard struct {
	mu    sync.Mutex
	heard map[int64][]bridge.SyncPresence
}

func (w *widgetsHeard) record(ev presence.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.heard == nil {
		w.heard = map[int64][]bridge.SyncPresence{}
	}
	w.heard[ev.Extension] = append(w.heard[ev.Extension], bridge.NewSyncPresence(ev.Presence))
}

func (w *widgetsHeard) of(ext int64) []bridge.SyncPresence {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.heard[ext])
}

// userEnv is the API's server over the test store with an account of two
// users, alice and bob, as the widget's endpoints reach it (internal/web
// calls CallLogRecords, SyncPresence and UpdateUserPresence for the
// signed-in user).
type userEnv struct {
	*testEnv
	acct       identity.Account
	alice, bob identity.Extension
	widgets    *widgetsHeard
}

func newUserEnv(t testing.TB) *userEnv {
	t.Helper()
	u := &userEnv{widgets: &widgetsHeard{}}
	u.testEnv = newTestEnvWith(t, func(d *Deps, db *store.DB) {
		keeper := presence.New(presence.Config{}, db)
		keeper.Subscribe(u.widgets.record)
		d.CallLog, d.Presence = db, keeper
	})
	ctx := context.Background()
	u.acct = identity.Account{Company: "Test Co.", MainNumber: "+16505550100", CountryCode: "US", AreaCode: "650"}
	if err := u.db.CreateAccount(ctx, &u.acct); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []*identity.Extension{
		{AccountID: u.acct.ID, Number: "101", Name: "Alice Adams", Email: "alice@test.test", DirectNumbers: []string{"+16505550101", "+16505550111"}},
		{AccountID: u.acct.ID, Number: "102", Name: "Bob Brown", Email: "bob@test.test"},
	} {
		ext.Role, ext.Status = identity.RoleUser, identity.StatusEnabled
		if err := u.db.CreateExtension(ctx, ext, "hash"); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if _, u.alice, err = u.srv.Directory.ExtensionByEmail(ctx, "alice@test.test"); err != nil {
		t.Fatal(err)
	}
	if _, u.bob, err = u.srv.Directory.ExtensionByEmail(ctx, "bob@test.test"); err != nil {
		t.Fatal(err)
	}
	return u
}

// wantParamError checks that err is a 400 naming param.
func wantParamError(t *testing.T, err error, param string) {
	t.Helper()
	var e *httperror.Error
	if !errors.As(err, &e) || e.Status != 400 || e.Code != "InvalidParameter" || e.Param != param {
		t.Fatalf("%v, want a 400 InvalidParameter naming %s", err, param)
	}
}

func strp(s string) *string { return &s }
