package media

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
)

// carrier is a carrier's media endpoint as an RTP leg sees it: UDP sockets
// on loopback, SDP written by hand, RTP (or SRTP) sent with its own payload
// types and SSRC, and a record of the RTP and RTCP the gateway sends it.
type carrier struct {
	t       testing.TB
	name    string
	conn    *net.UDPConn // RTP, and RTCP when mux
	rtcpC   *net.UDPConn // RTCP when not mux, announced with a=rtcp
	mux     bool
	key     []byte // its SDES key; nil for plain RTP
	tag     int
	version int

	pcmu, event uint8

	sendMu   sync.Mutex
	ssrc     uint32
	seq      uint16
	ts       uint32
	gateway  netip.AddrPort // where the gateway's SDP says to send
	gwRTCP   netip.AddrPort
	txRTP    *srtp.Context
	txRTCP   *srtp.Context
	quiet    bool // count only (benchmarks)
	received int

	mu         sync.Mutex
	rxKey      []byte // the gateway's key, which rxRTP and rxRTCP decrypt with
	rxRTP      *srtp.Context
	rxRTCP     *srtp.Context
	got        []received
	reports    []rtcp.Packet
	decryptErr int
	stop       chan struct{}
	wg         sync.WaitGroup
}

// carrierOpts: srtp offers or answers RTP/SAVP with a key; mux multiplexes
// RTCP (else it is announced with a=rtcp on a port of its own); pcma lists
// PCMA only, not PCMU; adjacent takes the port above RTP's for RTCP.
type carrierOpts struct {
	srtp     bool
	mux      bool
	pcma     bool
	adjacent bool
}

func newCarrier(t testing.TB, name string, o carrierOpts) *carrier {
	t.Helper()
	c := &carrier{t: t, name: name, mux: o.mux, pcmu: 0, event: 96, ssrc: 0x0C0FFEE, seq: 65500, ts: 4_000_000_000, tag: 7, version: 1,
		stop: make(chan struct{})}
	if o.pcma {
		c.pcmu = 8 // its one audio type
	}
	if o.adjacent {
		c.conn, c.rtcpC = listenPair(t)
	} else {
		var err error
		if c.conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
			t.Fatal(err)
		}
		if c.rtcpC, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
			t.Fatal(err)
		}
	}
	if o.srtp {
		c.key = make([]byte, sdesKeyLen)
		for i := range c.key {
			c.key[i] = byte(200 - i)
		}
		c.txRTP = mustContext(t, c.key)
		c.txRTCP = mustContext(t, c.key)
	}
	t.Cleanup(c.close)
	c.wg.Add(2)
	go c.read(c.conn)
	go c.read(c.rtcpC)
	return c
}

// listenPair binds two loopback UDP ports, the second the one above the
// first.
func listenPair(t testing.TB) (*net.UDPConn, *net.UDPConn) {
	t.Helper()
	for range 100 {
		a, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		port := a.LocalAddr().(*net.UDPAddr).Port
		if port < 65535 {
			if b, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port + 1}); err == nil {
				return a, b
			}
		}
		_ = a.Close()
	}
	t.Fatal("no two adjacent loopback ports free")
	return nil, nil
}

func mustContext(t testing.TB, key []byte) *srtp.Context {
	t.Helper()
	ctx, err := srtp.CreateContext(key[:16], key[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

func (c *carrier) port() int     { return c.conn.LocalAddr().(*net.UDPAddr).Port }
func (c *carrier) rtcpPort() int { return c.rtcpC.LocalAddr().(*net.UDPAddr).Port }

// sdp writes the carrier's offer or answer with direction dir.
func (c *carrier) sdp(dir string) string {
	c.version++
	proto, extra := "RTP/AVP", ""
	if c.key != nil {
		proto = "RTP/SAVP"
		extra = fmt.Sprintf("a=crypto:%d AES_CM_128_HMAC_SHA1_80 inline:%s|2^31\r\n", c.tag, base64.StdEncoding.EncodeToString(c.key))
	}
	if c.mux {
		extra += "a=rtcp-mux\r\n"
	} else {
		extra += fmt.Sprintf("a=rtcp:%d IN IP4 127.0.0.1\r\n", c.rtcpPort())
	}
	formats := fmt.Sprintf("0 8 %d\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000", c.event)
	if c.pcmu == 8 {
		formats = fmt.Sprintf("8 %d\r\na=rtpmap:8 PCMA/8000", c.event)
	}
	return fmt.Sprintf("v=0\r\no=carrier 42 %d IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d %s %s\r\na=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n"+
		"a=ptime:20\r\n%sa=%s\r\n",
		c.version, c.port(), proto, formats, c.event, c.event, extra, dir)
}

var (
	sdpMedia  = regexp.MustCompile(`(?m)^m=audio (\d+) (\S+) `)
	sdpConn   = regexp.MustCompile(`(?m)^c=IN IP4 (\S+)\r$`)
	sdpCrypto = regexp.MustCompile(`(?m)^a=crypto:(\d+) AES_CM_128_HMAC_SHA1_80 inline:(\S+)\r$`)
)

// learn reads the gateway's SDP: where to send, and its key and tag (which
// an answer to it repeats).
func (c *carrier) learn(gatewaySDP string) {
	c.t.Helper()
	m, conn := sdpMedia.FindStringSubmatch(gatewaySDP), sdpConn.FindStringSubmatch(gatewaySDP)
	if m == nil || conn == nil {
		c.t.Fatalf("carrier %s: no audio section or address in\n%s", c.name, gatewaySDP)
	}
	port, _ := strconv.Atoi(m[1])
	addr := netip.MustParseAddr(conn[1])
	c.sendMu.Lock()
	c.gateway = netip.AddrPortFrom(addr, uint16(port))
	c.gwRTCP = netip.AddrPortFrom(addr, uint16(port+1))
	if c.mux {
		c.gwRTCP = c.gateway
	}
	c.sendMu.Unlock()
	if c.key == nil {
		return
	}
	k := sdpCrypto.FindStringSubmatch(gatewaySDP)
	if k == nil {
		c.t.Fatalf("carrier %s: no key in\n%s", c.name, gatewaySDP)
	}
	key, err := base64.StdEncoding.DecodeString(k[2])
	if err != nil {
		c.t.Fatal(err)
	}
	c.tag, _ = strconv.Atoi(k[1])
	c.mu.Lock()
	defer c.mu.Unlock()
	if bytes.Equal(key, c.rxKey) {
		// The same key: the contexts carry on, with their rollover
		// counts (RFC 4568 §7.1.4).
		return
	}
	c.rxKey = key
	c.rxRTP, c.rxRTCP = mustContext(c.t, key), mustContext(c.t, key)
}

func (c *carrier) read(conn *net.UDPConn) {
	defer c.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		c.handle(append([]byte(nil), buf[:n]...))
	}
}

func (c *carrier) handle(pkt []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.key != nil && c.rxRTP == nil {
		return // encrypted with a key it was not given: not its call
	}
	if isRTCP(pkt) {
		if c.rxRTCP != nil {
			var err error
			if pkt, err = c.rxRTCP.DecryptRTCP(nil, pkt, nil); err != nil {
				c.decryptErr++
				return
			}
		}
		pkts, err := rtcp.Unmarshal(pkt)
		if err != nil {
			c.t.Errorf("carrier %s: bad RTCP: %v", c.name, err)
			return
		}
		c.reports = append(c.reports, pkts...)
		return
	}
	if c.rxRTP != nil {
		var err error
		if pkt, err = c.rxRTP.DecryptRTP(nil, pkt, nil); err != nil {
			c.decryptErr++
			return
		}
	}
	var p rtp.Packet
	if err := p.Unmarshal(pkt); err != nil {
		c.t.Errorf("carrier %s: bad RTP: %v", c.name, err)
		return
	}
	c.received++
	if c.quiet {
		return
	}
	c.got = append(c.got, received{pt: p.PayloadType, seq: p.SequenceNumber, ts: p.Timestamp, ssrc: p.SSRC,
		marker: p.Marker, payload: p.Payload, at: time.Now()})
}

// send sends one RTP packet of payload type pt; audio advances the
// timestamp by 20 ms.
func (c *carrier) send(pt uint8, payload []byte, audio bool) {
	c.t.Helper()
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	h := rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: c.seq, Timestamp: c.ts, SSRC: c.ssrc}
	c.seq++
	if audio {
		c.ts += 160
	}
	pkt, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
	if err != nil {
		c.t.Fatal(err)
	}
	if c.txRTP != nil {
		if pkt, err = c.txRTP.EncryptRTP(nil, pkt, nil); err != nil {
			c.t.Fatal(err)
		}
	}
	if _, err := c.conn.WriteToUDPAddrPort(pkt, c.gateway); err != nil && !errors.Is(err, net.ErrClosed) {
		c.t.Errorf("carrier %s: send: %v", c.name, err)
	}
}

// sendRaw sends a datagram as it is from the carrier's RTP port.
func (c *carrier) sendRaw(pkt []byte) {
	c.t.Helper()
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if _, err := c.conn.WriteToUDPAddrPort(pkt, c.gateway); err != nil {
		c.t.Errorf("carrier %s: send: %v", c.name, err)
	}
}

// sendAudio sends n tagged PCMU packets: tag, then a big-endian counter
// starting at from.
func (c *carrier) sendAudio(tag byte, from, n int) {
	for i := range n {
		payload := make([]byte, 5)
		payload[0] = tag
		binary.BigEndian.PutUint32(payload[1:], uint32(from+i))
		c.send(c.pcmu, payload, true)
	}
}

// sendCounter sends a tagged audio packet every 20 ms until the carrier
// closes.
func (c *carrier) sendCounter(tag byte) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ticker := time.NewTicker(20 * time.Millisecond)
		defer ticker.Stop()
		for n := 0; ; n++ {
			select {
			case <-c.stop:
				return
			case <-ticker.C:
			}
			c.sendAudio(tag, n, 1)
		}
	}()
}

// sendRTCP sends a compound RTCP packet to the gateway.
func (c *carrier) sendRTCP(pkts ...rtcp.Packet) {
	c.t.Helper()
	raw, err := rtcp.Marshal(pkts)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if c.txRTCP != nil {
		if raw, err = c.txRTCP.EncryptRTCP(nil, raw, nil); err != nil {
			c.t.Fatal(err)
		}
	}
	conn := c.rtcpC
	if c.mux {
		conn = c.conn
	}
	if _, err := conn.WriteToUDPAddrPort(raw, c.gwRTCP); err != nil {
		c.t.Errorf("carrier %s: send RTCP: %v", c.name, err)
	}
}

// newSource makes the carrier's stream start over under another SSRC, from
// an unrelated sequence number and timestamp: what a carrier does after a
// re-INVITE or a transfer on its side.
func (c *carrier) newSource() {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	c.ssrc, c.seq, c.ts = c.ssrc+1, 1234, 777
}

func (c *carrier) packets(keep func(received) bool) []received {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []received
	for _, p := range c.got {
		if keep == nil || keep(p) {
			out = append(out, p)
		}
	}
	return out
}

func (c *carrier) countTagged(tag byte) int {
	return len(c.packets(func(p received) bool { return len(p.payload) == 5 && p.payload[0] == tag }))
}

// rtcpOf returns the RTCP packets received so far that keep selects.
func (c *carrier) rtcpOf(keep func(rtcp.Packet) bool) []rtcp.Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []rtcp.Packet
	for _, p := range c.reports {
		if keep(p) {
			out = append(out, p)
		}
	}
	return out
}

func (c *carrier) close() {
	select {
	case <-c.stop:
		return
	default:
	}
	close(c.stop)
	_ = c.conn.Close()
	_ = c.rtcpC.Close()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.decryptErr > 0 {
		c.t.Errorf("carrier %s: %d packets from the gateway failed to decrypt", c.name, c.decryptErr)
	}
}
