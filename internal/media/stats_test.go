package media

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// TestBrowserLegReports checks the RTCP the gateway writes and reads for a
// browser leg itself: the browser gets a sender report of the gateway's
// stream with a reception report block about its own and the stream's
// CNAME, and Stats takes the round trip from the browser's reports.
func TestBrowserLegReports(t *testing.T) {
	checkGoroutines(t)
	testTimeout(t)
	g := newTestGateway(t, Config{})
	g.rtcpInterval = 50 * time.Millisecond
	ca := newClient(t, "a", codecsA)
	cb := newClient(t, "b", codecsB)
	ca.dial(g, "a", KindPhone)
	cb.dial(g, "b", KindPhone)
	if err := g.Connect("a", "b"); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	ca.sendCounter('A')
	cb.sendCounter('B')

	own := ca.track.bound.Load().ssrc
	var (
		mu    sync.Mutex
		sr    *rtcp.SenderReport
		block *rtcp.ReceptionReport
		cname string
	)
	sender := ca.pc.GetSenders()[0]
	ca.start(func() {
		buf := make([]byte, rtpBufferSize)
		for {
			n, _, err := sender.Read(buf)
			if err != nil {
				return
			}
			pkts, err := rtcp.Unmarshal(buf[:n])
			if err != nil {
				continue
			}
			mu.Lock()
			for _, p := range pkts {
				switch p := p.(type) {
				case *rtcp.SenderReport:
					sr = p
					for i := range p.Reports {
						if p.Reports[i].SSRC == own {
							block = &p.Reports[i]
						}
					}
				case *rtcp.SourceDescription:
					for _, c := range p.Chunks {
						for _, it := range c.Items {
							if it.Type == rtcp.SDESCNAME {
								cname = it.Text
							}
						}
					}
				}
			}
			mu.Unlock()
		}
	})
	waitFor(t, "the gateway's sender report with a block about the browser's stream", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return sr != nil && sr.PacketCount > 0 && sr.OctetCount >= 5*sr.PacketCount &&
			block != nil && block.LastSequenceNumber > 0 && cname == "a"
	})
	mu.Lock()
	if block.TotalLost != 0 {
		t.Errorf("the gateway reports %d packets lost on loopback", block.TotalLost)
	}
	mu.Unlock()

	waitFor(t, "the round trip in Stats", func() bool {
		s, _ := g.Stats("a")
		return s.RTTMs > 0
	})
	s, _ := g.Stats("a")
	if s.PacketsLost != 0 || s.InboundLost != 0 {
		t.Errorf("Stats(a) = %+v: loss on loopback", s)
	}
	if s.RTTMs > float64(patience/time.Millisecond) {
		t.Errorf("Stats(a).RTTMs = %v", s.RTTMs)
	}
}
