package bridge

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

type msg struct {
	Type string `json:"type"`
	N    int    `json:"n"`
}

// patience bounds a wait for an event that comes at once on an idle
// machine: a loaded one may take many times longer, and only a hung test
// reaches it.
const patience = 30 * time.Second

func recv(t *testing.T, s *Subscription) Event {
	t.Helper()
	select {
	case evs, ok := <-s.C:
		if !ok {
			t.Fatal("subscription closed")
		}
		if len(evs) != 1 {
			t.Fatalf("publication of %d events, want 1", len(evs))
		}
		return evs[0]
	case <-time.After(patience):
		t.Fatal("no event")
	}
	return Event{}
}

func TestHubDeliversToGroupOnly(t *testing.T) {
	h := NewHub(HubConfig{})
	a, _, _, _ := h.Subscribe("a", "")
	b, _, _, _ := h.Subscribe("b", "")
	defer a.Close()
	defer b.Close()
	ev, err := h.Publish("a", msg{"x", 1})
	if err != nil {
		t.Fatal(err)
	}
	got := recv(t, a)
	if got.ID != ev.ID || string(got.Data) != `{"type":"x","n":1}` {
		t.Fatalf("got %s %s", got.ID, got.Data)
	}
	select {
	case evs := <-b.C:
		t.Fatalf("group b got %s", evs[0].Data)
	default:
	}
}

func TestHubReplay(t *testing.T) {
	h := NewHub(HubConfig{LogSize: 4})
	var ids []string
	for i := 1; i <= 6; i++ {
		ev, _ := h.Publish("g", msg{"x", i})
		ids = append(ids, ev.ID)
	}
	tests := []struct {
		name       string
		last       string
		wantN      []int
		wantResync bool
	}{
		{"first connection", "", nil, false},
		{"up to date", ids[5], nil, false},
		{"missed two", ids[3], []int{5, 6}, false},
		{"oldest kept boundary", ids[1], []int{3, 4, 5, 6}, false},
		{"lost position", ids[0], []int{3, 4, 5, 6}, true},
		{"other boot", "zzz.3", nil, true},
		{"garbage", "not-an-id", nil, true},
		{"future", h.boot + ".99", nil, true},
		{"negative", h.boot + ".-1", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, replay, resync, err := h.Subscribe("g", tt.last)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if resync != tt.wantResync {
				t.Errorf("resync = %t, want %t", resync, tt.wantResync)
			}
			var got []int
			for _, ev := range replay {
				var n int
				fmt.Sscanf(string(ev.Data), `{"type":"x","n":%d}`, &n)
				got = append(got, n)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.wantN) {
				t.Errorf("replayed %v, want %v", got, tt.wantN)
			}
		})
	}
}

func TestHubDropsSlowSubscriber(t *testing.T) {
	h := NewHub(HubConfig{BufferSize: 2})
	slow, _, _, _ := h.Subscribe("g", "")
	fast, _, _, _ := h.Subscribe("g", "")
	defer fast.Close()
	for i := 0; i < 3; i++ {
		h.Publish("g", msg{"x", i})
		recv(t, fast)
	}
	if !slow.Dropped() {
		t.Fatal("slow subscriber not dropped")
	}
	n := 0
	for range slow.C { // buffered events, then closed
		n++
	}
	if n != 2 {
		t.Fatalf("slow subscriber drained %d events, want 2", n)
	}
	slow.Close() // closing after a drop is harmless
	if got := h.Subscribers("g"); got != 1 {
		t.Fatalf("subscribers = %d, want 1", got)
	}
	if st := h.Stats(); st != (HubStats{Open: 1, Opened: 2, Dropped: 1}) {
		t.Fatalf("stats = %+v, want one open of two opened, one dropped", st)
	}
	fast.Close()
	fast.Close()
	if st := h.Stats(); st != (HubStats{Open: 0, Opened: 2, Dropped: 1}) {
		t.Fatalf("stats after close = %+v, want none open", st)
	}
}

func TestHubConcurrentPublishSubscribeClose(t *testing.T) {
	h := NewHub(HubConfig{BufferSize: 8, LogSize: 16})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				h.Publish("g", msg{"x", i})
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				s, _, _, err := h.Subscribe("g", "")
				if err != nil {
					return
				}
				select {
				case <-s.C:
				default:
				}
				s.Close()
				s.Close()
			}
		}()
	}
	wg.Wait()
	h.Shutdown()
	if _, err := h.Publish("g", msg{}); err == nil {
		t.Fatal("publish after shutdown succeeded")
	}
	if _, _, _, err := h.Subscribe("g", ""); err == nil {
		t.Fatal("subscribe after shutdown succeeded")
	}
}

func TestHubShutdownClosesSubscribers(t *testing.T) {
	h := NewHub(HubConfig{})
	s, _, _, _ := h.Subscribe("g", "")
	h.Shutdown()
	if _, ok := <-s.C; ok {
		t.Fatal("channel still open")
	}
	s.Close()
}

func TestHubSweep(t *testing.T) {
	h := NewHub(HubConfig{IdleTTL: time.Minute})
	h.Publish("idle", msg{})
	s, _, _, _ := h.Subscribe("busy", "")
	defer s.Close()
	if n := h.Sweep(time.Now().Add(2 * time.Minute)); n != 1 {
		t.Fatalf("swept %d groups, want 1", n)
	}
	if h.Subscribers("busy") != 1 {
		t.Fatal("busy group swept")
	}
}

func BenchmarkHubPublish(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			h := NewHub(HubConfig{BufferSize: 1 << 16})
			subs := make([]*Subscription, n)
			for i := range subs {
				subs[i], _, _, _ = h.Subscribe("g", "")
			}
			var wg sync.WaitGroup
			for _, s := range subs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range s.C {
					}
				}()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h.Publish("g", msg{"rc-route-changed-notify", i})
			}
			b.StopTimer()
			h.Shutdown()
			wg.Wait()
		})
	}
}

// TestHubRemovesAnySubscriber: whichever subscriptions of a group close,
// the others keep receiving, each publication once.
func TestHubRemovesAnySubscriber(t *testing.T) {
	for _, closing := range [][]int{{0}, {4}, {2}, {0, 4}, {1, 3}, {0, 1, 2, 3}} {
		t.Run(fmt.Sprint(closing), func(t *testing.T) {
			h := NewHub(HubConfig{})
			subs := make([]*Subscription, 5)
			for i := range subs {
				subs[i], _, _, _ = h.Subscribe("g", "")
			}
			closed := map[int]bool{}
			for _, i := range closing {
				subs[i].Close()
				closed[i] = true
			}
			if got, want := h.Subscribers("g"), 5-len(closing); got != want {
				t.Fatalf("subscribers = %d, want %d", got, want)
			}
			ev, _ := h.Publish("g", msg{"x", 1})
			for i, s := range subs {
				if closed[i] {
					if _, ok := <-s.C; ok {
						t.Fatalf("closed subscription %d received", i)
					}
					continue
				}
				if got := recv(t, s); got.ID != ev.ID {
					t.Fatalf("subscription %d got %s, want %s", i, got.ID, ev.ID)
				}
				select {
				case evs := <-s.C:
					t.Fatalf("subscription %d got a second publication %s", i, evs[0].ID)
				default:
				}
			}
			if n := h.CloseGroup("g"); n != 5-len(closing) {
				t.Fatalf("CloseGroup closed %d, want %d", n, 5-len(closing))
			}
			if st := h.Stats(); st.Open != 0 {
				t.Fatalf("open = %d after CloseGroup", st.Open)
			}
		})
	}
}

// TestSubscriptionHeartbeat: a heartbeat is an empty publication; it never
// blocks, never drops a subscriber whose buffer is full, and does nothing
// once the subscription is closed.
func TestSubscriptionHeartbeat(t *testing.T) {
	h := NewHub(HubConfig{BufferSize: 1})
	s, _, _, _ := h.Subscribe("g", "")
	s.heartbeat()
	if evs := <-s.C; len(evs) != 0 {
		t.Fatalf("heartbeat publication has %d events", len(evs))
	}
	ev, _ := h.Publish("g", msg{"x", 1})
	s.heartbeat() // the buffer is full
	if s.Dropped() {
		t.Fatal("a heartbeat dropped the subscriber")
	}
	if got := recv(t, s); got.ID != ev.ID {
		t.Fatalf("got %s, want %s", got.ID, ev.ID)
	}
	select {
	case evs := <-s.C:
		t.Fatalf("a publication of %d events after the only one", len(evs))
	default:
	}
	s.Close()
	s.heartbeat()
	if _, ok := <-s.C; ok {
		t.Fatal("a closed subscription received")
	}
}
