package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/callbridge/widget-server/bench/internal/widget"
)

// widgetJSON calls a widget endpoint as the widget's script does and wants 200.
func widgetJSON(ctx context.Context, w *widget.Client, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, w.Base+path, body)
	if err != nil {
		return err
	}
	w.SetHeaders(req.Header)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return doJSON(w.HTTP, req, out)
}

func doJSON(c *http.Client, req *http.Request, out any) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %.200s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}
