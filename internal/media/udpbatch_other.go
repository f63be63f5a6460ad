//go:build !linux

package media

import (
	"net"
	"net/netip"
)

// udpBatch is, off Linux, one datagram per system call with the interface
// of the Linux batches (udpbatch_linux.go).
type udpBatch struct {
	conn  *net.UDPConn
	buf   []byte
	n     int
	src   netip.AddrPort
	wpkts [][]byte
	wto   []netip.AddrPort
	max   int
}

func newUDPBatch(conn *net.UDPConn, bufs [][]byte) (*udpBatch, error) {
	return &udpBatch{conn: conn, buf: bufs[0], max: len(bufs)}, nil
}

func (b *udpBatch) read() (int, error) {
	n, from, err := b.conn.ReadFromUDPAddrPort(b.buf)
	if err != nil {
		return 0, err
	}
	b.n, b.src = n, from
	return 1, nil
}

func (b *udpBatch) size(int) int {
	if b.n == len(b.buf) {
		return b.n + 1 // may have been cut
	}
	return b.n
}

func (b *udpBatch) from(int) netip.AddrPort { return b.src }

func (b *udpBatch) queue(pkt []byte, to netip.AddrPort) bool {
	if len(b.wpkts) == b.max {
		return false
	}
	b.wpkts, b.wto = append(b.wpkts, pkt), append(b.wto, to)
	return true
}

func (b *udpBatch) flush() error {
	var first error
	for i, p := range b.wpkts {
		if _, err := b.conn.WriteToUDPAddrPort(p, b.wto[i]); err != nil && first == nil {
			first = err
		}
		b.wpkts[i] = nil
	}
	b.wpkts, b.wto = b.wpkts[:0], b.wto[:0]
	return first
}
