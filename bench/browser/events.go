package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/callbridge/widget-server/bench/internal/measure"
	"github.com/callbridge/widget-server/bench/internal/peer"
	"github.com/callbridge/widget-server/bench/internal/target"
	"github.com/callbridge/widget-server/bench/internal/widget"
)

// eventLatency has a second session of alice's (over HTTP, with a pion
// client) call the echo line and toggle mute; alice's host page times
// every rc-telephony-session-notify against the server's eventTime.
func eventLatency(ctx context.Context, srv *target.Server, page *tab, cfg config, res *Result) error {
	w := widget.New(srv.URL, srv.DemoURL)
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := w.SignIn(sctx, "alice@demo.test", "demo"); err != nil {
		return err
	}
	device, err := w.NewDevice(sctx)
	if err != nil {
		return err
	}
	connected := make(chan struct{}, 1)
	if _, err := w.Events(sctx, device, func(ev widget.Event) {
		if ev.Type == "rc-active-call-notify" && ev.Call.TelephonyStatus == "CallConnected" {
			select {
			case connected <- struct{}{}:
			default:
			}
		}
	}); err != nil {
		return err
	}
	leg, offer, err := peer.New(nil, nil)
	if err != nil {
		return err
	}
	defer leg.Close()
	call, answer, err := w.Dial(sctx, device, "+15550101", offer)
	if err != nil {
		return err
	}
	defer func() {
		hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer hcancel()
		_ = w.Control(hctx, device, call.ID, "hangup")
	}()
	if err := leg.Answer(sctx, answer); err != nil {
		return err
	}
	select {
	case <-connected:
	case <-sctx.Done():
		return errors.New("the echo line did not answer")
	}
	time.Sleep(500 * time.Millisecond)
	start, err := page.now()
	if err != nil {
		return err
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.rate))
	defer tick.Stop()
	for i := range cfg.events {
		<-tick.C
		action := "mute"
		if i%2 == 1 {
			action = "unmute"
		}
		if err := w.Control(sctx, device, call.ID, action); err != nil {
			return err
		}
	}
	time.Sleep(time.Second)
	got, err := evalIn[[]sample](page.ctx, fmt.Sprintf(`cbBench.got.filter(m => m.at > %f && m.data.type === 'rc-telephony-session-notify').map(m => ({at: m.at, data: {telephonySession: {eventTime: m.data.telephonySession.eventTime}}}))`, start))
	if err != nil {
		return err
	}
	h := new(measure.Histogram)
	for _, s := range got {
		var d struct {
			TelephonySession struct {
				EventTime time.Time `json:"eventTime"`
			} `json:"telephonySession"`
		}
		if json.Unmarshal(s.Data, &d) != nil {
			continue
		}
		at := time.UnixMicro(int64(s.At * 1000))
		h.Add(at.Sub(d.TelephonySession.EventTime))
	}
	res.EventLatency = h.Summary()
	res.ClockOffsetMs, _ = evalIn[float64](page.ctx, `Date.now() - (performance.timeOrigin + performance.now())`)
	if h.Count() < uint64(cfg.events) {
		return fmt.Errorf("the host page got %d of %d rc-telephony-session-notify", h.Count(), cfg.events)
	}
	return nil
}
