package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/callbridge/widget-server/bench/internal/measure"
	"github.com/callbridge/widget-server/bench/internal/target"
	"github.com/callbridge/widget-server/bench/internal/widget"
)

// weigh measures adapter.js gzipped and, loads times in a cold browser,
// the demo page's first load.
func weigh(ctx context.Context, srv *target.Server, chromium string, loads int) (Weight, error) {
	var w Weight
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/adapter.js?clientId=demo", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	hc := widget.NewHTTPClient()
	hc.Transport.(*http.Transport).DisableCompression = true
	resp, err := hc.Do(req)
	if err != nil {
		return w, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		return w, fmt.Errorf("adapter.js not served gzipped (%q)", resp.Header.Get("Content-Encoding"))
	}
	w.AdapterGzipBytes = len(body)
	adapterHeaders := headerBytes(resp)

	first := new(measure.Histogram)
	steps := make([]*measure.Histogram, len(coldSteps))
	for i := range steps {
		steps[i] = new(measure.Histogram)
	}
	for i := range loads {
		b, err := newBrowser(ctx, chromium)
		if err != nil {
			return w, err
		}
		err = func() error {
			defer b.close()
			if err := chromedp.Do(b.ctx, chromedp.Navigate(srv.DemoURL+"/")); err != nil {
				return err
			}
			if _, err := poll[bool](b.ctx, "the widget's first event", `!!(window.cbDemo && cbDemo.messages.some(m => m.data && m.data.type === 'rc-login-status-notify'))`, 15*time.Second); err != nil {
				return err
			}
			host, err := evalIn[pageLoad](b.ctx, pageLoadJS)
			if err != nil {
				return err
			}
			first.Add(msDur(host.FirstStatus - host.AdapterStart))
			frame, err := frameCtx(b, srv.URL)
			if err != nil {
				return err
			}
			marks, err := evalIn[frameMarks](frame, frameMarksJS)
			if err != nil {
				return err
			}
			at := []float64{host.AdapterEnd, marks.Navigation, marks.Response, marks.Boot, marks.ScriptStart, marks.ScriptEnd, marks.Interactive, host.FirstStatus}
			for k, t := range at {
				if t > 0 {
					steps[k].Add(msDur(t - host.AdapterStart))
				}
			}
			if i > 0 {
				return nil
			}
			time.Sleep(time.Second) // let the widget finish its own requests
			host, err = evalIn[pageLoad](b.ctx, pageLoadJS)
			if err != nil {
				return err
			}
			inner, err := evalIn[pageLoad](frame, pageLoadJS)
			if err != nil {
				return err
			}
			adapterSeen := false
			for _, r := range host.Resources {
				if strings.HasPrefix(r.URL, srv.URL) {
					// Another site's responses: Resource Timing hides their
					// sizes from the host. The frame's own document is
					// counted from inside it; adapter.js as fetched above.
					if strings.Contains(r.URL, "/adapter.js") && !adapterSeen {
						// Counted once: the host's timeline may list it twice.
						adapterSeen = true
						r = Resource{URL: r.URL, Transfer: w.AdapterGzipBytes + adapterHeaders, Body: w.AdapterGzipBytes}
						w.WidgetTransferBytes += r.Transfer
						w.WidgetBodyBytes += r.Body
						w.WidgetResources = append(w.WidgetResources, r)
					} else {
						continue
					}
				}
				w.PageTransferBytes += r.Transfer
				w.PageBodyBytes += r.Body
			}
			for _, r := range inner.Resources {
				if strings.Contains(r.URL, "/widget/events") {
					continue // the open event stream, not part of the load
				}
				w.PageTransferBytes += r.Transfer
				w.PageBodyBytes += r.Body
				w.WidgetTransferBytes += r.Transfer
				w.WidgetBodyBytes += r.Body
				w.WidgetResources = append(w.WidgetResources, r)
			}
			return nil
		}()
		if err != nil {
			return w, err
		}
	}
	sort.Slice(w.WidgetResources, func(i, j int) bool { return w.WidgetResources[i].Transfer > w.WidgetResources[j].Transfer })
	w.FirstEvent = first.Summary()
	for k, name := range coldSteps {
		w.ColdSteps = append(w.ColdSteps, ColdStep{Name: name, Since: steps[k].Summary()})
	}
	return w, nil
}

// headerBytes approximates a response's header bytes on the wire.
func headerBytes(resp *http.Response) int {
	n := len(resp.Proto) + len(resp.Status) + 4
	for k, vs := range resp.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n + 2
}

// pageLoad is what a frame's Resource Timing says about its load.
type pageLoad struct {
	Resources    []Resource `json:"resources"`
	AdapterStart float64    `json:"adapterStart"` // page time the adapter.js request started
	AdapterEnd   float64    `json:"adapterEnd"`   // page time its response ended
	FirstStatus  float64    `json:"firstStatus"`  // page time of the first rc-login-status-notify (demo log, ms)
}

const pageLoadJS = `(() => {
  const all = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
  const resources = all.map(e => ({url: e.name, transfer_bytes: e.transferSize, encoded_body_bytes: e.encodedBodySize, decoded_body_bytes: e.decodedBodySize}));
  const a = performance.getEntriesByType('resource').find(e => e.name.includes('/adapter.js'));
  const s = window.cbDemo && cbDemo.messages.find(m => m.data && m.data.type === 'rc-login-status-notify');
  return {resources, adapterStart: a ? performance.timeOrigin + a.startTime : 0,
    adapterEnd: a ? performance.timeOrigin + a.responseEnd : 0, firstStatus: s ? s.time : 0};
})()`

// coldSteps names the milestones of a cold load, each timed from the
// adapter.js request (the order of the values in weigh).
var coldSteps = []string{
	"adapter.js received",
	"widget frame starts its navigation",
	"widget page received",
	"the page's boot script runs (it posts the first events)",
	"widget.js requested",
	"widget.js received",
	"widget page parsed (scripts run next)",
	"host page gets rc-login-status-notify",
}

// frameMarks is the widget frame's own timeline, in epoch milliseconds
// (both documents' performance.timeOrigin are on the same clock).
type frameMarks struct {
	Navigation  float64 `json:"navigation"`
	Response    float64 `json:"response"`
	ScriptStart float64 `json:"scriptStart"`
	ScriptEnd   float64 `json:"scriptEnd"`
	Interactive float64 `json:"interactive"`
	Boot        float64 `json:"boot"`
}

const frameMarksJS = `(() => {
  const o = performance.timeOrigin;
  const n = performance.getEntriesByType('navigation')[0];
  const s = performance.getEntriesByType('resource').find(e => /\/widget\.js(\?|$)/.test(new URL(e.name).pathname));
  return {navigation: o + (n ? n.startTime : 0), response: n ? o + n.responseEnd : 0,
    scriptStart: s ? o + s.startTime : 0, scriptEnd: s ? o + s.responseEnd : 0,
    interactive: n ? o + n.domInteractive : 0,
    boot: (performance.getEntriesByName('cb-boot')[0] || {startTime: -o}).startTime + o};
})()`
