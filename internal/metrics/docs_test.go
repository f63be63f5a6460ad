package metrics

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDocumented: every metric of the server is in the table of
// docs/configuration.md, and the dashboard in docs/grafana-dashboard.json
// is JSON, asks for a Prometheus data source and queries only metrics that
// exist.
func TestDocumented(t *testing.T) {
	m := New()
	m.Watch(Sources{
		Calls:      func() int { return 0 },
		Streams:    func() StreamTotals { return StreamTotals{} },
		Media:      func() MediaTotals { return MediaTotals{Legs: map[string]int{"phone": 0}} },
		Storage:    func() StorageErrors { return StorageErrors{} },
		Queued:     func(context.Context) (map[string]int, error) { return nil, nil },
		QueueKinds: []string{"webhook"},
	})
	m.Request("/", "GET", 200, 0, false)
	m.CallEnded("Busy")
	m.Delivery("sms", "delivered")
	m.LegEnded("phone", 0, 0, true)
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	ours := map[string]bool{}
	for _, f := range fams {
		if strings.HasPrefix(f.GetName(), Namespace+"_") {
			ours[f.GetName()] = true
		}
	}
	if len(ours) < 15 {
		t.Fatalf("only %d metrics gathered: %v", len(ours), ours)
	}

	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(callbridge_[a-z_]+)` \\|").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}
	for name := range ours {
		if !documented[name] {
			t.Errorf("%s is not in the metrics table of docs/configuration.md", name)
		}
	}
	for name := range documented {
		if !ours[name] {
			t.Errorf("docs/configuration.md lists %s, which the server does not export", name)
		}
	}

	raw, err := os.ReadFile("../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Templating struct {
			List []struct{ Type, Name, Query any }
		}
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	hasSource := false
	for _, v := range dash.Templating.List {
		hasSource = hasSource || v.Type == "datasource" && v.Query == "prometheus"
	}
	if !hasSource {
		t.Error("the dashboard has no Prometheus data source variable")
	}
	queried := map[string]bool{}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, name := range regexp.MustCompile(`callbridge_[a-z_]+`).FindAllString(tg.Expr, -1) {
				for _, suffix := range []string{"_bucket", "_count", "_sum"} {
					if strings.HasSuffix(name, "_seconds"+suffix) {
						name = strings.TrimSuffix(name, suffix)
					}
				}
				if !ours[name] {
					t.Errorf("panel %q queries %s, which the server does not export", p.Title, name)
				}
				queried[name] = true
			}
		}
	}
	for name := range ours {
		if !queried[name] && name != Namespace+"_event_streams_opened_total" {
			t.Errorf("no panel shows %s", name)
		}
	}
}
