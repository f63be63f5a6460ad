package sip

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// sessionTimer is a call's RFC 4028 session timer: the refresher refreshes
// at half the interval; the other side ends the session when no refresh
// came shortly before it expires.
type sessionTimer struct {
	t         *time.Timer
	interval  time.Duration
	weRefresh bool
}

func (s *sessionTimer) stop() {
	if s.t != nil {
		s.t.Stop()
	}
}

// parseSessionExpires reads a Session-Expires header ("1800;refresher=uac",
// compact form "x"): the interval and the refresher ("uac", "uas" or "").
func parseSessionExpires(m interface{ GetHeader(string) sip.Header }) (time.Duration, string, bool) {
	h := m.GetHeader("Session-Expires")
	if h == nil {
		h = m.GetHeader("x")
	}
	if h == nil {
		return 0, "", false
	}
	v, params, _ := strings.Cut(h.Value(), ";")
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 || n > 86400 {
		return 0, "", false
	}
	refresher := ""
	for _, p := range strings.Split(params, ";") {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "refresher") {
			refresher = strings.ToLower(strings.TrimSpace(val))
		}
	}
	if refresher != "uac" && refresher != "uas" {
		refresher = ""
	}
	return time.Duration(n) * time.Second, refresher, true
}

// hasOption reports whether a Supported or Require header lists tag.
func hasOption(m interface{ GetHeaders(string) []sip.Header }, header, tag string) bool {
	for _, h := range m.GetHeaders(header) {
		for _, t := range strings.Split(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(t), tag) {
				return true
			}
		}
	}
	return false
}

// startTimerUAC arms the session timer from the 2xx of our INVITE: the
// refresher it names (we are the UAC; none named means us).
func (c *Call) startTimerUAC(res *sip.Response) {
	d, refresher, ok := parseSessionExpires(res)
	if !ok {
		return
	}
	c.setTimer(d, refresher != "uas")
}

// setTimer (re)arms the session timer.
func (c *Call) setTimer(interval time.Duration, weRefresh bool) {
	interval = max(interval, c.ua.minSE)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.stop()
	}
	if c.state != stateConfirmed {
		return
	}
	var t *time.Timer
	if weRefresh {
		t = time.AfterFunc(interval/2, c.refreshSession)
	} else {
		// RFC 4028 10: BYE at expiry less the smaller of 32 s and a third.
		t = time.AfterFunc(interval-min(32*time.Second, interval/3), func() {
			c.log.Warn("sip: session not refreshed in time", slog.Duration("interval", interval))
			c.endByPeer(EndSessionExpired, true)
		})
	}
	c.timer = &sessionTimer{t: t, interval: interval, weRefresh: weRefresh}
}

// timerInfo returns the session timer's interval and refresher role.
func (c *Call) timerInfo() (time.Duration, bool, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer == nil {
		return 0, false, false
	}
	return c.timer.interval, c.timer.weRefresh, true
}

// addTimerHeaders adds Session-Expires to a refreshing request we send
// (we are its UAC: "uac" when we refresh).
func (c *Call) addTimerHeaders(req *sip.Request) {
	d, we, ok := c.timerInfo()
	if !ok {
		return
	}
	r := "uas"
	if we {
		r = "uac"
	}
	req.AppendHeader(sip.NewHeader("Session-Expires", strconv.Itoa(int(d.Seconds()))+";refresher="+r))
}

// sessionRefreshed rearms the timer after our re-INVITE or UPDATE
// succeeded, from the interval and refresher its 2xx names.
func (c *Call) sessionRefreshed(res *sip.Response) {
	if d, refresher, ok := parseSessionExpires(res); ok {
		c.setTimer(d, refresher != "uas")
		return
	}
	if d, we, ok := c.timerInfo(); ok {
		c.setTimer(d, we)
	}
}

// refreshSession refreshes the session: an UPDATE without a body when the
// carrier allows UPDATE, else a re-INVITE repeating our last SDP. A
// refresh the carrier no longer knows (481, 408, no answer) ends the call.
func (c *Call) refreshSession() {
	c.mu.Lock()
	if c.state != stateConfirmed {
		c.mu.Unlock()
		return
	}
	busy := c.pending
	useUpdate := strings.Contains(strings.ToUpper(c.peerAllow), "UPDATE")
	sdp := c.localSDP
	c.pending = true
	c.mu.Unlock()
	if busy {
		// Our own re-INVITE is in progress and refreshes the session.
		return
	}
	defer func() {
		c.mu.Lock()
		c.pending = false
		c.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), sip.Timer_B)
	defer cancel()
	var err error
	if useUpdate {
		var res *sip.Response
		res, err = c.ua.authRoundTrip(ctx, c.trunk, func() *sip.Request {
			req := c.newRequest(sip.UPDATE, 0)
			c.addTimerHeaders(req)
			return req
		})
		switch {
		case err != nil:
		case res.IsSuccess():
			c.sessionRefreshed(res)
		default:
			err = &ResponseError{Method: "UPDATE", Code: res.StatusCode, Reason: res.Reason}
		}
	} else {
		_, err = c.inDialogInvite(ctx, sdp, nil)
	}
	if err == nil {
		c.log.Debug("sip: session refreshed")
		return
	}
	var re *ResponseError
	if errors.As(err, &re) && re.Code != 481 && re.Code != 408 {
		// The carrier refused this refresh but knows the call: try again
		// at the next half interval.
		c.log.Warn("sip: session refresh refused", slog.Any("err", err))
		if d, we, ok := c.timerInfo(); ok {
			c.setTimer(d, we)
		}
		return
	}
	c.log.Warn("sip: session refresh failed", slog.Any("err", err))
	c.endByPeer(EndSessionExpired, true)
}

// negotiateUAS reads the session timer of an INVITE we answer (RFC 4028
// 9): it returns the interval and whether we refresh, or ok false when the
// request asks for none. tooSmall reports an interval under our minimum
// (the answer is then 422 with Min-SE).
func negotiateUAS(req *sip.Request) (interval time.Duration, weRefresh, ok, tooSmall bool) {
	d, refresher, present := parseSessionExpires(req)
	if !present {
		return 0, false, false, false
	}
	if d < minSessionExpires {
		return 0, false, false, true
	}
	switch refresher {
	case "uac":
		weRefresh = false
	case "uas":
		weRefresh = true
	default:
		// Unnamed: the caller refreshes when it supports timers.
		weRefresh = !hasOption(req, "Supported", "timer")
	}
	return d, weRefresh, true, false
}

// timerResponseHeaders are the Session-Expires (and Require) of our 2xx to
// a request that negotiated a timer (we are its UAS: "uas" when we
// refresh).
func timerResponseHeaders(interval time.Duration, weRefresh bool) []sip.Header {
	r := "uac"
	if weRefresh {
		r = "uas"
	}
	hs := []sip.Header{sip.NewHeader("Session-Expires", strconv.Itoa(int(interval.Seconds()))+";refresher="+r)}
	if !weRefresh {
		hs = append(hs, sip.NewHeader("Require", "timer"))
	}
	return hs
}
