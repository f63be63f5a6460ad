package server

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
)

// talker is a widget's audio as the gateway sees it: a loopback pion peer
// that sends Opus-labelled RTP whose payload is one repeated byte, the
// mark it is given at the moment, and counts the marks it hears. Marks
// tell who is heard: the gateway forwards payloads as they are.
type talker struct {
	*peer
	track *webrtc.TrackLocalStaticRTP

	mu       sync.Mutex
	mark     byte
	seq      uint16 // of the last packet sent
	reported uint32 // highest sequence number the gateway reports it received
	heard    map[byte]int
	more     chan struct{} // signalled on every packet heard and every report
	sent     chan struct{} // signalled on every packet sent
}

func newTalker(t *testing.T, name string, mark byte) *talker {
	t.Helper()
	return newTalkerIn(t, name, mark, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2})
}

// newTalkerIn is a talker whose track has codec c: PCMU for a call
// through a trunk, which the gateway carries in G.711.
func newTalkerIn(t *testing.T, name string, mark byte, c webrtc.RTPCodecCapability) *talker {
	t.Helper()
	tk := &talker{mark: mark, heard: map[byte]int{}, more: make(chan struct{}, 1), sent: make(chan struct{}, 1)}
	var err error
	tk.track, err = webrtc.NewTrackLocalStaticRTP(c, "audio", name)
	if err != nil {
		t.Fatal(err)
	}
	tk.peer = newPeerWith(t, func(pc *webrtc.PeerConnection) error {
		pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			for {
				p, _, err := remote.ReadRTP()
				if err != nil {
					return
				}
				if len(p.Payload) == 0 {
					continue
				}
				tk.mu.Lock()
				tk.heard[p.Payload[0]]++
				tk.mu.Unlock()
				select {
				case tk.more <- struct{}{}:
				default:
				}
			}
		})
		sender, err := pc.AddTrack(tk.track)
		if err != nil {
			return err
		}
		go func() { // the gateway's receiver reports: how far it has read
			for {
				pkts, _, err := sender.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					reports := receptionReports(p)
					if reports == nil {
						continue
					}
					tk.mu.Lock()
					for _, r := range reports {
						tk.reported = max(tk.reported, r.LastSequenceNumber)
					}
					tk.mu.Unlock()
					select {
					case tk.more <- struct{}{}:
					default:
					}
				}
			}
		}()
		return nil
	})
	done := make(chan struct{})
	stopped := make(chan struct{})
	t.Cleanup(func() { close(done); <-stopped })
	go func() { // 20 ms packets, as a browser sends them
		defer close(stopped)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var seq uint16
		var ts uint32
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			tk.mu.Lock()
			m := tk.mark
			seq++
			tk.seq = seq
			tk.mu.Unlock()
			payload := make([]byte, 40)
			for i := range payload {
				payload[i] = m
			}
			ts += c.ClockRate / 50
			_ = tk.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts}, Payload: payload})
			select {
			case tk.sent <- struct{}{}:
			default:
			}
		}
	}()
	return tk
}

// say changes the mark of what the talker sends from now on, and returns
// the sequence number of the first packet that carries it.
func (tk *talker) say(mark byte) uint16 {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	tk.mark = mark
	return tk.seq + 1
}

// waitSent waits until the talker has sent the packet of sequence number
// seq.
func (tk *talker) waitSent(t *testing.T, seq uint16) {
	t.Helper()
	for {
		tk.mu.Lock()
		done := tk.seq >= seq
		tk.mu.Unlock()
		if done {
			return
		}
		<-tk.sent
	}
}

// waitRead waits until the gateway reports it has read the packet of
// sequence number seq (and so every packet before it).
func (tk *talker) waitRead(t *testing.T, who string, seq uint16) {
	t.Helper()
	deadline := time.After(patience)
	for {
		tk.mu.Lock()
		done := tk.reported >= uint32(seq)
		tk.mu.Unlock()
		if done {
			return
		}
		select {
		case <-tk.more:
		case <-deadline:
			t.Fatalf("the gateway never reported reading %s's packet %d", who, seq)
		}
	}
}

func (tk *talker) count(mark byte) int {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return tk.heard[mark]
}

// waitHears waits until the talker has heard n packets of mark.
func (tk *talker) waitHears(t *testing.T, who string, mark byte, n int) {
	t.Helper()
	deadline := time.After(patience)
	for tk.count(mark) < n {
		select {
		case <-tk.more:
		case <-deadline:
			tk.mu.Lock()
			defer tk.mu.Unlock()
			t.Fatalf("%s heard %v, want %d packets of %q", who, tk.heard, n, mark)
		}
	}
}

// waitHearsSound waits until the talker heard n packets of G.711 that are
// not silence (whatever their mark: a conference's mix re-encodes them).
func (tk *talker) waitHearsSound(t *testing.T, who string, n int) {
	t.Helper()
	sound := func() int {
		tk.mu.Lock()
		defer tk.mu.Unlock()
		total := 0
		for b, k := range tk.heard {
			if b != 0xFF && b != 0x7F { // μ-law zero
				total += k
			}
		}
		return total
	}
	deadline := time.After(patience)
	for sound() < n {
		select {
		case <-tk.more:
		case <-deadline:
			tk.mu.Lock()
			defer tk.mu.Unlock()
			t.Fatalf("%s heard %v, want %d packets of sound", who, tk.heard, n)
		}
	}
}

// TestAudioFollowsTheCall: in a real call between two widgets through the
// gateway, each side hears the other; while the call is on hold neither
// hears anything the other says, and after it resumes they hear each
// other again. What is said during the hold is marked apart, so its
// absence is checked without waiting on a clock: the hold is in force at
// the gateway once its request is answered, and the words said after the
// resume arrive after any that could have slipped through.
func TestAudioFollowsTheCall(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Config{RingTimeout: time.Hour})
	aliceTab := openTab(t, srv, "alice@demo.test")
	bobTab := openTab(t, srv, "bob@demo.test")

	alice := newTalker(t, "alice", 'a')
	call := aliceTab.dial(t, "102", alice.peer)
	session := call["telephonySessionId"]
	bobCall := bobTab.waitFor(t, "the ring", ringsFor(session))["call"].(map[string]any)
	bob := newTalker(t, "bob", 'b')
	r := widgetPost(t, bobTab.c, srv.WidgetURL, "/widget/calls/"+bobCall["id"].(string)+"/answer",
		map[string]string{"deviceId": bobTab.device, "sdp": bob.offer})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("bob answers: %d %s", r.StatusCode, r.body)
	}
	bob.answer(t, r.json(t)["sdp"].(string))

	alice.waitHears(t, "alice", 'b', 10)
	bob.waitHears(t, "bob", 'a', 10)

	action := func(tab *widgetTab, id, what string) {
		t.Helper()
		if r := widgetPost(t, tab.c, srv.WidgetURL, "/widget/calls/"+id+"/"+what, map[string]string{"deviceId": tab.device}); r.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", what, r.StatusCode, r.body)
		}
	}
	action(aliceTab, call["id"].(string), "hold") // in force at the gateway once answered
	heldA, heldB := alice.say('A'), bob.say('B')  // said on hold: nobody may hear it
	alice.waitSent(t, heldA+10)
	bob.waitSent(t, heldB+10)
	// What comes next is marked apart; once the gateway has read it, every
	// word said on hold was read while the hold was in force.
	nextA, nextB := alice.say('c'), bob.say('d')
	alice.waitRead(t, "alice", nextA)
	bob.waitRead(t, "bob", nextB)
	action(aliceTab, call["id"].(string), "unhold")
	alice.waitHears(t, "alice", 'd', 10)
	bob.waitHears(t, "bob", 'c', 10)
	if n := bob.count('A'); n != 0 {
		t.Errorf("bob heard %d packets alice said while the call was on hold", n)
	}
	if n := alice.count('B'); n != 0 {
		t.Errorf("alice heard %d packets bob said while the call was on hold", n)
	}
}
