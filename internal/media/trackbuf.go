package media

import (
	"errors"
	"io"
	"sync"

	"github.com/pion/transport/v2/packetio"
)

// A browser leg's received RTP is forwarded on the library's SRTP session
// goroutine, the moment it is decrypted: the library asks the leg's
// SettingEngine for a buffer per SSRC (BufferFactory) and writes each
// decrypted packet into it, and the leg's trackBuffer forwards it there
// instead of queueing it for a reader goroutine of the leg's own. That
// saves a copy, a goroutine hand-off and a wake-up per packet.
//
// Before the track is announced the library reads the stream's first
// packet itself (to learn its payload type), so a buffer queues what it is
// given until the leg takes it over in OnTrack: the leg reads the queued
// packets through the track, in order, and from then on Write forwards.

const (
	// trackQueueLimit bounds what a buffer keeps before the leg takes it
	// over (a stream the library never announces keeps no more).
	trackQueueLimit = 64
	// rtcpBufferLimit is the library's own limit for an SSRC's RTCP.
	rtcpBufferLimit = 100 * 1000
)

// errHandedOver ends the leg's reads of a track once its buffer forwards
// by itself.
var errHandedOver = errors.New("media: track handed over")

// trackBuffer is the library's buffer of one SSRC's decrypted RTP on a
// browser leg.
type trackBuffer struct {
	l    *leg
	ssrc uint32

	mu     sync.Mutex
	queue  [][]byte // before the leg takes over
	handed bool     // the leg takes over: Read ends at an empty queue
	taken  bool     // Write forwards through s
	s      *source
	closed bool
	wake   chan struct{} // a packet was queued, or the buffer closed
}

// newBuffer is the leg's BufferFactory: a trackBuffer for RTP, the
// library's own buffer for RTCP.
func (l *leg) newBuffer(kind packetio.BufferPacketType, ssrc uint32) io.ReadWriteCloser {
	if kind != packetio.RTPBufferPacket {
		b := packetio.NewBuffer()
		b.SetLimitSize(rtcpBufferLimit)
		return b
	}
	b := &trackBuffer{l: l, ssrc: ssrc, wake: make(chan struct{}, 1)}
	l.mu.Lock()
	if l.buffers == nil {
		l.buffers = make(map[uint32]*trackBuffer)
	}
	l.buffers[ssrc] = b
	l.mu.Unlock()
	return b
}

// buffer returns the buffer of ssrc, if the library made one.
func (l *leg) buffer(ssrc uint32) *trackBuffer {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buffers[ssrc]
}

// Write takes one decrypted packet: forwarded at once once the leg has
// taken the buffer over, else queued (dropped when the queue is full). It
// does not keep pkt.
func (b *trackBuffer) Write(pkt []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return 0, io.ErrClosedPipe
	case b.taken:
		b.l.receiveTrackPacket(b.s, pkt)
		return len(pkt), nil
	case len(b.queue) >= trackQueueLimit:
		return len(pkt), nil
	}
	b.queue = append(b.queue, append([]byte(nil), pkt...))
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return len(pkt), nil
}

// Read returns the oldest queued packet, waiting for one until the leg
// takes the buffer over (errHandedOver) or it closes (io.EOF).
func (b *trackBuffer) Read(p []byte) (int, error) {
	for {
		b.mu.Lock()
		switch {
		case len(b.queue) > 0:
			pkt := b.queue[0]
			b.queue[0] = nil
			b.queue = b.queue[1:]
			b.mu.Unlock()
			if len(pkt) > len(p) {
				return 0, io.ErrShortBuffer
			}
			return copy(p, pkt), nil
		case b.closed:
			b.mu.Unlock()
			return 0, io.EOF
		case b.handed:
			b.taken = true
			b.queue = nil
			b.mu.Unlock()
			return 0, errHandedOver
		}
		b.mu.Unlock()
		<-b.wake
	}
}

// handOver starts the leg's take-over: reads return what is queued, then
// errHandedOver, after which Write forwards through s.
func (b *trackBuffer) handOver(s *source) {
	b.mu.Lock()
	b.handed, b.s = true, s
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Close ends reads and refuses later writes; a Write under way finishes
// first.
func (b *trackBuffer) Close() error {
	b.mu.Lock()
	b.closed = true
	b.queue = nil
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return nil
}
