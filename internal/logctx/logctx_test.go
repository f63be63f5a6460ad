package logctx

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
)

func TestHandlerAddsContextAttrs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewHandler(slog.NewJSONHandler(&buf, nil))).With(slog.String("component", "test"))
	ctx := With(context.Background(), slog.String("requestId", "r-1"))
	ctx = With(ctx, slog.String("telephonySessionId", "s-1"))

	for _, tt := range []struct {
		name string
		log  func()
		want map[string]string
	}{
		{"with context", func() { log.InfoContext(ctx, "line", slog.Int("n", 1)) },
			map[string]string{"requestId": "r-1", "telephonySessionId": "s-1", "component": "test"}},
		{"without", func() { log.Info("line") }, map[string]string{"component": "test"}},
		{"a group keeps the wrapper", func() { log.WithGroup("g").InfoContext(ctx, "line") },
			map[string]string{"component": "test"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			buf.Reset()
			tt.log()
			var got map[string]any
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("%s: %v", buf.Bytes(), err)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %q (line %s)", k, got[k], v, buf.Bytes())
				}
			}
			if _, ok := tt.want["requestId"]; !ok && got["requestId"] != nil {
				t.Errorf("requestId on a line without the context: %s", buf.Bytes())
			}
			if tt.name == "a group keeps the wrapper" {
				g, _ := got["g"].(map[string]any)
				if g["requestId"] != "r-1" {
					t.Errorf("grouped line %s lost the context's attributes", buf.Bytes())
				}
			}
		})
	}
	if h := NewHandler(log.Handler()); h != log.Handler() {
		t.Error("wrapping twice")
	}
}
