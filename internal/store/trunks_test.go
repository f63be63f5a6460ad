package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/sip"
)

func TestTrunks(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if list, err := db.Trunks(ctx); err != nil || len(list) != 0 {
		t.Fatalf("Trunks of a new database = %v, %v", list, err)
	}
	// Every field of a trunk is kept, in canonical form.
	full := sip.TrunkConfig{
		Name: " carrier ", Host: "sip.carrier.example:5080", Transport: "TCP", OutboundProxy: "proxy.carrier.example",
		Username: "trunkuser", Password: "s3cret pass", AuthUsername: "authuser", Realm: "carrier.example",
		Register: true, RegisterExpiry: 30 * time.Minute, FromDomain: "carrier.example", CallerID: "pai",
		AllowedSources: []string{"198.51.100.0/24", "2001:db8::1"}, KeepAlive: 1500 * time.Millisecond,
		Prefixes: []string{"+1 (415)", "+44"}, DenyPrefixes: []string{"+1-900"}, Priority: 20,
	}
	if err := db.AddTrunk(ctx, full); err != nil {
		t.Fatal(err)
	}
	want := full
	want.Name, want.Transport, want.CallerID = "carrier", sip.TCP, sip.CallerIDPAI
	want.Prefixes, want.DenyPrefixes = []string{"+1415", "+44"}, []string{"+1900"}
	got, err := db.Trunk(ctx, "carrier")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || got.Password != "s3cret pass" {
		t.Fatalf("Trunk = %#v\nwant %#v (and its password)", got, want)
	}

	// A bare peering keeps its empty fields empty (defaults apply at run time).
	peer := sip.TrunkConfig{Name: "peer", Host: "198.51.100.7"}
	if err := db.AddTrunk(ctx, peer); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Trunk(ctx, "peer"); err != nil || !reflect.DeepEqual(got, peer) {
		t.Fatalf("Trunk(peer) = %#v, %v; want %#v", got, err, peer)
	}
	if err := db.AddTrunk(ctx, sip.TrunkConfig{Name: "backup", Host: "sip.backup.example", Priority: 20}); err != nil {
		t.Fatal(err)
	}
	list, err := db.Trunks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range list {
		names = append(names, c.Name)
	}
	if !reflect.DeepEqual(names, []string{"peer", "backup", "carrier"}) {
		t.Errorf("Trunks in order %v, want by priority then name", names)
	}

	if err := db.AddTrunk(ctx, sip.TrunkConfig{Name: "carrier", Host: "other.example"}); !errors.Is(err, sip.ErrTrunkExists) {
		t.Errorf("a second trunk named carrier: %v", err)
	}
	if err := db.AddTrunk(ctx, sip.TrunkConfig{Name: "bad", Host: "sip.example", Prefixes: []string{"0044"}}); !errors.Is(err, sip.ErrConfig) {
		t.Errorf("an invalid trunk: %v", err)
	}
	if _, err := db.Trunk(ctx, "bad"); !errors.Is(err, sip.ErrUnknownTrunk) {
		t.Errorf("the invalid trunk was kept: %v", err)
	}
	if err := db.RemoveTrunk(ctx, "carrier"); err != nil {
		t.Fatal(err)
	}
	if err := db.RemoveTrunk(ctx, "carrier"); !errors.Is(err, sip.ErrUnknownTrunk) {
		t.Errorf("removing a removed trunk: %v", err)
	}
	if _, err := db.Trunk(ctx, "carrier"); !errors.Is(err, sip.ErrUnknownTrunk) {
		t.Errorf("Trunk after remove: %v", err)
	}
	if list, _ := db.Trunks(ctx); len(list) != 2 {
		t.Errorf("%d trunks left, want 2", len(list))
	}
}
