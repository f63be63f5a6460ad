package media

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// udpBatch reads and writes the gateway's socket a batch of datagrams per
// system call (recvmmsg, sendmmsg), through the runtime's poller. Its read
// side is used by one goroutine, its write side by one at a time.
type udpBatch struct {
	rc syscall.RawConn

	rmsgs  []unix.Mmsghdr
	riov   []unix.Iovec
	rnames []unix.RawSockaddrInet4
	rn     int   // datagrams the last read got
	rerr   error // its error
	readFn func(fd uintptr) bool

	wmsgs   []unix.Mmsghdr
	wiov    []unix.Iovec
	wnames  []unix.RawSockaddrInet4
	wcount  int // datagrams to send in wmsgs
	wsent   int
	werr    error
	writeFn func(fd uintptr) bool
}

func newUDPBatch(conn *net.UDPConn, bufs [][]byte) (*udpBatch, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	n := len(bufs)
	b := &udpBatch{
		rc:     rc,
		rmsgs:  make([]unix.Mmsghdr, n),
		riov:   make([]unix.Iovec, n),
		rnames: make([]unix.RawSockaddrInet4, n),
		wmsgs:  make([]unix.Mmsghdr, n),
		wiov:   make([]unix.Iovec, n),
		wnames: make([]unix.RawSockaddrInet4, n),
	}
	for i := range bufs {
		b.riov[i].Base = &bufs[i][0]
		b.riov[i].SetLen(len(bufs[i]))
		b.rmsgs[i].Hdr.Iov = &b.riov[i]
		b.rmsgs[i].Hdr.SetIovlen(1)
		b.rmsgs[i].Hdr.Name = (*byte)(unsafe.Pointer(&b.rnames[i]))
		b.wmsgs[i].Hdr.Iov = &b.wiov[i]
		b.wmsgs[i].Hdr.SetIovlen(1)
		b.wmsgs[i].Hdr.Name = (*byte)(unsafe.Pointer(&b.wnames[i]))
		b.wmsgs[i].Hdr.Namelen = unix.SizeofSockaddrInet4
	}
	b.readFn = b.recv
	b.writeFn = b.send
	return b, nil
}

// recv is one recvmmsg, without waiting; false asks the poller to wait.
func (b *udpBatch) recv(fd uintptr) bool {
	for i := range b.rmsgs {
		b.rmsgs[i].Hdr.Namelen = unix.SizeofSockaddrInet4
		b.rmsgs[i].Hdr.Flags = 0
	}
	n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.rmsgs[0])), uintptr(len(b.rmsgs)), unix.MSG_DONTWAIT, 0, 0)
	switch e {
	case 0:
		b.rn, b.rerr = int(n), nil
	case unix.EAGAIN:
		return false
	case unix.EINTR:
		return b.recv(fd)
	default:
		b.rn, b.rerr = 0, e
	}
	return true
}

// read waits for datagrams and returns how many it got: datagram i is the
// first size(i) bytes of the i-th buffer, from from(i).
func (b *udpBatch) read() (int, error) {
	if err := b.rc.Read(b.readFn); err != nil {
		return 0, err
	}
	return b.rn, b.rerr
}

// size is the length of datagram i of the last read; a datagram the
// buffer cut short reports the buffer's length plus one.
func (b *udpBatch) size(i int) int {
	n := int(b.rmsgs[i].Len)
	if b.rmsgs[i].Hdr.Flags&unix.MSG_TRUNC != 0 {
		n = int(b.riov[i].Len) + 1
	}
	return n
}

// from is the sender of datagram i of the last read.
func (b *udpBatch) from(i int) netip.AddrPort {
	sa := &b.rnames[i]
	port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
	return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), port)
}

// queue adds a datagram to the next write; it reports false when the batch
// is full. pkt must stay unchanged until the write.
func (b *udpBatch) queue(pkt []byte, to netip.AddrPort) bool {
	if b.wcount == len(b.wmsgs) || len(pkt) == 0 || !to.Addr().Is4() {
		return false
	}
	i := b.wcount
	b.wiov[i].Base = &pkt[0]
	b.wiov[i].SetLen(len(pkt))
	sa := &b.wnames[i]
	sa.Family = unix.AF_INET
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], to.Port())
	sa.Addr = to.Addr().As4()
	b.wcount++
	return true
}

// send is sendmmsg of what is left of the batch, without waiting.
func (b *udpBatch) send(fd uintptr) bool {
	for b.wsent < b.wcount {
		n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.wmsgs[b.wsent])), uintptr(b.wcount-b.wsent), unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			b.wsent += int(n)
		case unix.EAGAIN:
			return false
		case unix.EINTR:
		default:
			// The first datagram left was refused (an unreachable
			// address): the others go on.
			b.werr = e
			b.wsent++
		}
	}
	return true
}

// flush writes the queued datagrams and empties the batch.
func (b *udpBatch) flush() error {
	if b.wcount == 0 {
		return nil
	}
	b.wsent, b.werr = 0, nil
	err := b.rc.Write(b.writeFn)
	for i := range b.wcount {
		b.wiov[i].Base = nil
	}
	b.wcount = 0
	if err != nil {
		return err
	}
	if b.werr != nil && !errors.Is(b.werr, unix.EAGAIN) {
		return b.werr
	}
	return nil
}
