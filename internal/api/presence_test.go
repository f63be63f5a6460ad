package api

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/callbridge/widget-server/internal/bridge"
	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/telephony"
)

// TestUpdateUserPresence: a presence the widget (PUT /widget/presence) or
// the API sets is checked, stored, told to the extension's widgets and
// answered in the words of rc-adapter-syncPresence; what is left out stays.
func TestUpdateUserPresence(t *testing.T) {
	u := newUserEnv(t)
	ctx := context.Background()
	if err := u.srv.UpdateUserPresence(ctx, u.alice.ID, strp("busy"), strp("DoNotAcceptAnyCalls")); err != nil {
		t.Fatal(err)
	}
	p, err := u.srv.SyncPresence(ctx, u.alice.ID)
	want := bridge.NewSyncPresence(presence.Of(telephony.NoCall, presence.UserPresence{UserStatus: "Busy", DNDStatus: "DoNotAcceptAnyCalls"}))
	if err != nil || p != want || p.PresenceStatus != "Busy" {
		t.Fatalf("presence %+v (%v), want %+v", p, err, want)
	}
	stored, ok, err := u.db.UserPresence(ctx, u.alice.ID)
	if err != nil || !ok || stored.UserStatus != "Busy" || stored.DNDStatus != "DoNotAcceptAnyCalls" {
		t.Errorf("stored %+v %t %v", stored, ok, err)
	}
	heard := u.widgets.of(u.alice.ID)
	if len(heard) != 1 {
		t.Fatalf("alice's widgets were told %v", heard)
	}
	var got map[string]any
	b, _ := json.Marshal(heard[0])
	json.Unmarshal(b, &got)
	if got["type"] != "rc-adapter-syncPresence" || got["userStatus"] != "Busy" || got["dndStatus"] != "DoNotAcceptAnyCalls" {
		t.Errorf("event %s", b)
	}

	// What is left out stays.
	if err := u.srv.UpdateUserPresence(ctx, u.alice.ID, nil, strp("TakeAllCalls")); err != nil {
		t.Fatal(err)
	}
	if p, _ := u.srv.SyncPresence(ctx, u.alice.ID); p.UserStatus != "Busy" || p.DNDStatus != "TakeAllCalls" {
		t.Errorf("partial update: %+v", p)
	}
	// Bob's presence is his own.
	if _, ok, _ := u.db.UserPresence(ctx, u.bob.ID); ok {
		t.Error("bob's presence changed")
	}

	// Refusals name the field, and change nothing.
	wantParamError(t, u.srv.UpdateUserPresence(ctx, u.bob.ID, strp("Away"), nil), "userStatus")
	wantParamError(t, u.srv.UpdateUserPresence(ctx, u.bob.ID, nil, strp("Never")), "dndStatus")
	if stored, ok, _ := u.db.UserPresence(ctx, u.bob.ID); ok {
		t.Errorf("a refused request changed the presence: %+v", stored)
	}
}

// FuzzUserPresence sets arbitrary values: a presence accepted is one of the
// documented values, and a refusal is a 400 naming the field.
func FuzzUserPresence(f *testing.F) {
	f.Add("Busy", "DoNotAcceptAnyCalls", true, true)
	f.Add("", "takedepartmentcallsonly", false, true)
	f.Add("Offline", "x", true, true)
	f.Add("available", "", true, false)
	u := newUserEnv(f)
	f.Fuzz(func(t *testing.T, userStatus, dndStatus string, withUser, withDND bool) {
		var us, ds *string
		if withUser {
			us = &userStatus
		}
		if withDND {
			ds = &dndStatus
		}
		ctx := context.Background()
		err := u.srv.UpdateUserPresence(ctx, u.alice.ID, us, ds)
		var e *httperror.Error
		if err != nil && (!errors.As(err, &e) || e.Status != 400 || e.Param != "userStatus" && e.Param != "dndStatus") {
			t.Fatalf("%q %q: %v", userStatus, dndStatus, err)
		}
		p, err := u.srv.SyncPresence(ctx, u.alice.ID)
		if err != nil || !slices.Contains(presence.UserStatuses, p.UserStatus) || !slices.Contains(presence.DNDStatuses, p.DNDStatus) {
			t.Fatalf("%q %q set presence %+v (%v)", userStatus, dndStatus, p, err)
		}
	})
}
