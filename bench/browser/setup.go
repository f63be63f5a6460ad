package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/callbridge/widget-server/bench/internal/measure"
)

// setups runs n calls from alice to bob: dial → ring; after ringFor, as a
// person takes a moment to pick up, answer → caller sees it.
func setups(ctx context.Context, alice, bob *tab, n int, ringFor time.Duration, res *Result) error {
	ring, answered := new(measure.Histogram), new(measure.Histogram)
	dialPrep, dialReq, ansPrep, ansReq, ansAfter := new(measure.Histogram), new(measure.Histogram), new(measure.Histogram), new(measure.Histogram), new(measure.Histogram)
	for _, t := range []*tab{alice, bob} {
		f, err := frameCtx(t, t.srv.URL)
		if err != nil {
			return err
		}
		t.frame = f
		if _, err := evalIn[bool](f, `(performance.setResourceTimingBufferSize(100000), true)`); err != nil {
			return err
		}
	}
	for i := range n {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		t0, err := evalIn[float64](alice.ctx, `(() => { const t = cbBench.now(); RCAdapter.clickToCall('102', true); return t; })()`)
		if err != nil {
			return err
		}
		r, err := bob.waitFor("rc-call-ring-notify", "true", t0)
		if err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		ring.Add(msDur(r.At - t0))
		time.Sleep(ringFor)
		t2, err := evalIn[float64](bob.ctx, `(() => { const t = cbBench.now(); RCAdapter.controlCall('answer'); return t; })()`)
		if err != nil {
			return err
		}
		a, err := alice.waitFor("rc-telephony-session-notify",
			`m.data.telephonySession.parties.some(p => p.direction === 'Inbound' && p.status.code === 'Answered')`, t2)
		if err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		answered.Add(msDur(a.At - t2))
		if d, err := lastFetch(alice.frame, "/widget/calls"); err != nil {
			fmt.Fprintf(os.Stderr, "browser: dial timing: %v\n", err)
		} else if d.Start > 0 {
			dialPrep.Add(msDur(d.Start - t0))
			dialReq.Add(msDur(d.End - d.Start))
		}
		if d, err := lastFetch(bob.frame, "/answer"); err != nil {
			fmt.Fprintf(os.Stderr, "browser: answer timing: %v\n", err)
		} else if d.Start > 0 {
			ansPrep.Add(msDur(d.Start - t2))
			ansReq.Add(msDur(d.End - d.Start))
			ansAfter.Add(msDur(a.At - d.End))
		}
		t4, _ := alice.now()
		if _, err := evalIn[any](alice.ctx, `RCAdapter.controlCall('hangup').then(r => r, e => String(e))`); err != nil {
			return err
		}
		if _, err := alice.waitFor("rc-call-end-notify", "true", t4); err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		if _, err := bob.waitFor("rc-adapter-syncPresence", `m.data.telephonyStatus === 'NoCall'`, t4); err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	res.DialToRing, res.AnswerToCaller = ring.Summary(), answered.Summary()
	res.DialPrep, res.DialRequest = dialPrep.Summary(), dialReq.Summary()
	res.AnswerPrep, res.AnswerRequest, res.AnswerAfter = ansPrep.Summary(), ansReq.Summary(), ansAfter.Summary()
	return nil
}

// span is one request's start and end, in page time (ms since the epoch).
type span struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// lastFetch returns the timing of the frame's latest request whose URL ends
// with suffix.
func lastFetch(frame context.Context, suffix string) (span, error) {
	return evalIn[span](frame, fmt.Sprintf(`(() => {
  const e = performance.getEntriesByType('resource').filter(e => e.name.endsWith(%q)).pop();
  return e ? {start: performance.timeOrigin + e.startTime, end: performance.timeOrigin + e.responseEnd} : {start: 0, end: 0};
})()`, suffix))
}

func msDur(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
