package main

import (
	"context"
	"time"

	"github.com/callbridge/widget-server/bench/internal/target"
	"github.com/callbridge/widget-server/bench/internal/widget"
)

// tab is a signed-in widget tab with its event stream open, so that its
// device rings.
type tab struct {
	user   target.User
	w      *widget.Client
	device string
	rings  chan string
	cancel context.CancelFunc
	done   <-chan struct{}
}

func (l *loadRun) openTab(ctx context.Context, u target.User) (*tab, error) {
	t := &tab{user: u, w: l.newWidget(), rings: make(chan string, 8)}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := t.w.SignIn(sctx, u.Email, u.Password); err != nil {
		return nil, err
	}
	var err error
	if t.device, err = t.w.NewDevice(sctx); err != nil {
		return nil, err
	}
	return t, t.stream(ctx)
}

// streamNewDevice opens an event stream of w with a device newly issued to
// it, as a new widget tab of the session does, and returns when the stream
// has ended.
func streamNewDevice(ctx context.Context, w *widget.Client) error {
	device, err := w.NewDevice(ctx)
	if err != nil {
		return err
	}
	done, err := w.Events(ctx, device, func(widget.Event) {})
	if err != nil {
		return err
	}
	<-done
	return nil
}

// stream (re)opens the tab's event stream.
func (t *tab) stream(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	done, err := t.w.Events(sctx, t.device, func(ev widget.Event) {
		if ev.Type == "rc-call-ring-notify" && ev.To == t.device {
			select {
			case t.rings <- ev.Call.ID:
			default:
			}
		}
	})
	if err != nil {
		cancel()
		return err
	}
	t.cancel, t.done = cancel, done
	return nil
}

// alive reopens the stream if the server ended it.
func (t *tab) alive(ctx context.Context) error {
	select {
	case <-t.done:
		t.cancel()
		return t.stream(ctx)
	default:
		return nil
	}
}

func (t *tab) close() {
	t.cancel()
	<-t.done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	widgetJSON(ctx, t.w, "POST", "/widget/logout", nil, nil)
}
