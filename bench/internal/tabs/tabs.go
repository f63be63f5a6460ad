// Package tabs opens the widget tabs the load tools place and answer calls
// from: a seeded user signed in over HTTP as the widget does, a device
// issued to the tab and its event stream open; many users a few at a time.
//
// It reaches the server only through bench/internal/widget, and takes from
// bench/internal/target no more than its users and the addresses of the
// server; it must not import the server's packages itself.
package tabs

import (
	"context"
	"fmt"
	"time"

	"github.com/callbridge/widget-server/bench/internal/bounded"
	"github.com/callbridge/widget-server/bench/internal/target"
	"github.com/callbridge/widget-server/bench/internal/widget"
)

// Tab is one widget tab: signed in as User, with Device issued to it and
// its event stream open.
type Tab struct {
	User   target.User
	W      *widget.Client
	Device string
}

// Open prepares a tab for u: widget session, sign-in, a device issued to
// it, its event stream with that device, whose events go to onEvent until
// ctx ends. The sign-in and the device take at most a minute.
func Open(ctx context.Context, srv *target.Server, u target.User, onEvent func(*Tab, widget.Event)) (*Tab, error) {
	t := &Tab{User: u, W: widget.New(srv.URL, srv.DemoURL)}
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := t.W.SignIn(sctx, u.Email, u.Password); err != nil {
		return nil, err
	}
	device, err := t.W.NewDevice(sctx)
	if err != nil {
		return nil, err
	}
	t.Device = device
	if _, err := t.W.Events(ctx, device, func(ev widget.Event) { onEvent(t, ev) }); err != nil {
		return nil, err
	}
	return t, nil
}

// OpenAll opens, with open, the tabs of the users that have none in have
// (the users from len(have) on), parallel at a time, and returns have with
// them added in the order of users. On an error it returns one of them.
func OpenAll[T any](ctx context.Context, users []target.User, have []T, parallel int, open func(context.Context, target.User) (T, error)) ([]T, error) {
	out := append([]T(nil), have...)
	out = append(out, make([]T, len(users)-len(have))...)
	errc := make(chan error, len(users))
	bounded.Do(len(users)-len(have), parallel, func(i int) {
		i += len(have)
		t, err := open(ctx, users[i])
		if err != nil {
			errc <- fmt.Errorf("sign in %s: %w", users[i].Email, err)
			return
		}
		out[i] = t
	})
	close(errc)
	return out, <-errc
}
