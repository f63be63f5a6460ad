package sip

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

func TestRoute(t *testing.T) {
	trunks := []TrunkConfig{
		{Name: "backup", Host: "sip.backup.example", Priority: 20},
		{Name: "uk", Host: "sip.uk.example", Prefixes: []string{"+44"}, Priority: 5},
		{Name: "main", Host: "sip.main.example", Prefixes: []string{"+1", "+44 20"}, DenyPrefixes: []string{"+1 900", "+1-212"}, Priority: 10},
		{Name: "second", Host: "sip.second.example", Priority: 10},
	}
	allUp := func(string) bool { return true }
	downSet := func(names ...string) func(string) bool {
		return func(n string) bool { return !slices.Contains(names, n) }
	}
	for _, tt := range []struct {
		name, number, region string
		up                   func(string) bool
		want                 Route // zero: no route
	}{
		{"by prefix", "+14155550100", "US", allUp, Route{Trunk: "main", Number: "+14155550100"}},
		{"written with spaces", "+1 415 555 0100", "US", allUp, Route{Trunk: "main", Number: "+14155550100"}},
		{"national number in the region", "(415) 555-0100", "US", allUp, Route{Trunk: "main", Number: "+14155550100"}},
		{"lowest priority first", "+442071234567", "US", allUp, Route{Trunk: "uk", Number: "+442071234567"}},
		{"next priority when down", "+442071234567", "US", downSet("uk"), Route{Trunk: "main", Number: "+442071234567"}},
		{"equal priorities in configuration order", "+33142685300", "FR", allUp, Route{Trunk: "second", Number: "+33142685300"}},
		{"denied goes to the next trunk", "+19005550100", "US", allUp, Route{Trunk: "second", Number: "+19005550100"}},
		{"denied with the other form", "+12125550100", "US", downSet("second"), Route{Trunk: "backup", Number: "+12125550100"}},
		{"main down", "+14155550100", "US", downSet("main"), Route{Trunk: "second", Number: "+14155550100"}},
		{"all down", "+14155550100", "US", func(string) bool { return false }, Route{}},
		{"extension number", "101", "US", allUp, Route{}},
		{"test number", "+15550100", "US", allUp, Route{}},
		{"invalid number", "+10000000000", "US", allUp, Route{}},
		{"garbage", "sip:x@y", "US", allUp, Route{}},
		{"empty", "", "US", allUp, Route{}},
		{"911 on the first trunk up, whatever its prefixes", "911", "US", allUp, Route{Trunk: "uk", Number: "911", Emergency: true}},
		{"112 with the first trunk down", "112", "DE", downSet("uk"), Route{Trunk: "main", Number: "112", Emergency: true}},
		{"E.164 form of the region's", "+49 110", "DE", allUp, Route{Trunk: "uk", Number: "110", Emergency: true}},
		{"region's own", "999", "GB", downSet("uk", "main"), Route{Trunk: "second", Number: "999", Emergency: true}},
		{"another region's is not", "999", "US", allUp, Route{}},
		{"emergency with every trunk down", "911", "US", func(string) bool { return false }, Route{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := route(trunks, tt.up, tt.number, tt.region)
			if got != tt.want || ok != (tt.want != Route{}) {
				t.Fatalf("route(%q, %s) = %+v, %t; want %+v", tt.number, tt.region, got, ok, tt.want)
			}
		})
	}
	if got, ok := route(nil, allUp, "911", "US"); ok {
		t.Errorf("no trunk routes %+v", got)
	}
}

// TestUARoute routes with the trunks' own status: a peering without
// keep-alive is up from the start, a registering trunk down until it
// registers.
func TestUARoute(t *testing.T) {
	u, err := New(Config{
		Listen: []Listen{{Transport: UDP, Addr: "127.0.0.1:0"}},
		Trunks: []TrunkConfig{
			{Name: "registering", Host: "sip.carrier.example", Username: "u", Password: "p", Register: true},
			{Name: "peer", Host: "198.51.100.7", Prefixes: []string{"+1"}, Priority: 1},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if r, ok := u.Route("+14155550100", "US"); !ok || r.Trunk != "peer" {
		t.Errorf("Route = %+v, %t; want the peering, the registering trunk being down", r, ok)
	}
	if r, ok := u.Route("+442071234567", "US"); ok {
		t.Errorf("Route = %+v to a number only the down trunk takes", r)
	}
	if r, ok := u.Route("112", "US"); !ok || r != (Route{Trunk: "peer", Number: "112", Emergency: true}) {
		t.Errorf("Route(112) = %+v, %t", r, ok)
	}
}

func TestDialRulesValidate(t *testing.T) {
	base := TrunkConfig{Name: "carrier", Host: "sip.carrier.example"}
	for _, tt := range []struct {
		name string
		edit func(c *TrunkConfig)
		want string
	}{
		{"prefixes", func(c *TrunkConfig) {
			c.Prefixes, c.DenyPrefixes, c.Priority = []string{"+1", "+44 20"}, []string{"+1900"}, 1000
		}, ""},
		{"national prefix", func(c *TrunkConfig) { c.Prefixes = []string{"0044"} }, `prefix "0044"`},
		{"empty prefix", func(c *TrunkConfig) { c.Prefixes = []string{""} }, "prefix"},
		{"bad deny prefix", func(c *TrunkConfig) { c.DenyPrefixes = []string{"+1x"} }, `deny prefix "+1x"`},
		{"negative priority", func(c *TrunkConfig) { c.Priority = -1 }, "priority"},
		{"priority too high", func(c *TrunkConfig) { c.Priority = 1001 }, "priority"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.edit(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want an ErrConfig naming %q", err, tt.want)
			}
		})
	}
}

func TestCanonical(t *testing.T) {
	sources := []string{" 198.51.100.0/24 "}
	in := TrunkConfig{Name: " carrier ", Host: " sip.carrier.example:5080 ", Transport: "TCP", CallerID: "PAI", Username: "u",
		AllowedSources: sources, Prefixes: []string{"+1 (415)"}, DenyPrefixes: []string{"+1-900"}}
	got, err := in.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	want := TrunkConfig{Name: "carrier", Host: "sip.carrier.example:5080", Transport: TCP, CallerID: CallerIDPAI, Username: "u",
		AllowedSources: []string{"198.51.100.0/24"}, Prefixes: []string{"+1415"}, DenyPrefixes: []string{"+1900"}}
	if got.String() != want.String() {
		t.Errorf("Canonical = %v\nwant %v", got, want)
	}
	if sources[0] != " 198.51.100.0/24 " {
		t.Error("Canonical changed the caller's slice")
	}
	if got.FromDomain != "" || got.RegisterExpiry != 0 {
		t.Errorf("Canonical filled in defaults: %v", got)
	}
	if _, err := (TrunkConfig{Name: "x"}).Canonical(); !errors.Is(err, ErrConfig) {
		t.Errorf("Canonical of an invalid trunk: %v", err)
	}
}

// TestTrunkConfigKeepsItsPassword checks that no way of printing or
// logging a trunk shows its password.
func TestTrunkConfigKeepsItsPassword(t *testing.T) {
	c := TrunkConfig{Name: "carrier", Host: "sip.carrier.example", Username: "trunkuser", Password: "s3cr3t-pass", Register: true}
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	log.Info("trunk", slog.Any("cfg", c), slog.Any("ptr", &c))
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("trunk", "cfg", c)
	for _, s := range []string{
		fmt.Sprint(c), fmt.Sprintf("%v %+v %s %#v %q", c, c, c, c, c), fmt.Sprintf("%v %+v", &c, &c),
		fmt.Sprint([]TrunkConfig{c}), fmt.Sprintf("%+v", Config{Trunks: []TrunkConfig{c}}),
		fmt.Errorf("bad trunk %v", c).Error(), logged.String(),
	} {
		if strings.Contains(s, "s3cr3t") {
			t.Errorf("password shown: %s", s)
		}
		if !strings.Contains(s, "trunkuser") || !strings.Contains(s, "[redacted]") {
			t.Errorf("trunk not shown, or without the mark of its password: %s", s)
		}
	}
	if c.Password != "s3cr3t-pass" {
		t.Error("printing changed the trunk")
	}
}
