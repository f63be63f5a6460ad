package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Ogg Opus (RFC 3533, RFC 7845): the writer the recorder uses, one logical
// stream per file, and the reader prompts are parsed with.

const (
	oggHeaderSize   = 27
	oggMaxSegments  = 255
	oggFlagContinue = 0x01
	oggFlagBOS      = 0x02
	oggFlagEOS      = 0x04

	// opusPreSkip is the pre-skip recorded files declare: the 6.5 ms
	// look-ahead of the libopus encoder browsers use (RFC 7845 §4.2).
	opusPreSkip = 312
	// oggPagePackets is how many packets a page of a recording holds at
	// most: a second of 20 ms frames.
	oggPagePackets = 50
	// oggPacketSegments is the most lacing values a recorded packet
	// takes: two streams' packets of a whole receive buffer each.
	oggPacketSegments = (2*rtpBufferSize+4)/255 + 1
)

var errBadOgg = errors.New("media: not an Ogg Opus file")

// oggCRCTable is the table of the Ogg checksum: CRC-32 with polynomial
// 0x04c11db7, not reflected, initial value 0 (RFC 3533 §6).
var oggCRCTable = func() [256]uint32 {
	var t [256]uint32
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

func oggCRC(crc uint32, b []byte) uint32 {
	for _, c := range b {
		crc = crc<<8 ^ oggCRCTable[byte(crc>>24)^c]
	}
	return crc
}

// opusHead is the identification header (RFC 7845 §5.1).
type opusHead struct {
	channels       uint8
	preSkip        uint16
	inputRate      uint32
	gain           int16
	family         uint8
	streams        uint8 // family != 0
	coupled        uint8
	channelMapping []byte
}

func (h opusHead) marshal() []byte {
	b := make([]byte, 19, 21+len(h.channelMapping))
	copy(b, "OpusHead")
	b[8] = 1
	b[9] = h.channels
	binary.LittleEndian.PutUint16(b[10:], h.preSkip)
	binary.LittleEndian.PutUint32(b[12:], h.inputRate)
	binary.LittleEndian.PutUint16(b[16:], uint16(h.gain))
	b[18] = h.family
	if h.family != 0 {
		b = append(b, h.streams, h.coupled)
		b = append(b, h.channelMapping...)
	}
	return b
}

func parseOpusHead(b []byte) (opusHead, error) {
	if len(b) < 19 || string(b[:8]) != "OpusHead" || b[8]>>4 != 0 {
		return opusHead{}, fmt.Errorf("%w: bad OpusHead", errBadOgg)
	}
	h := opusHead{
		channels:  b[9],
		preSkip:   binary.LittleEndian.Uint16(b[10:]),
		inputRate: binary.LittleEndian.Uint32(b[12:]),
		gain:      int16(binary.LittleEndian.Uint16(b[16:])),
		family:    b[18],
	}
	if h.family != 0 {
		if len(b) < 21+int(h.channels) {
			return opusHead{}, fmt.Errorf("%w: short OpusHead", errBadOgg)
		}
		h.streams, h.coupled = b[19], b[20]
		h.channelMapping = append([]byte(nil), b[21:21+int(h.channels)]...)
	}
	return h, nil
}

// opusTags is a comment header naming the vendor and nothing else.
func opusTags() []byte {
	const vendor = "callbridge"
	b := make([]byte, 0, 16+len(vendor))
	b = append(b, "OpusTags"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(vendor)))
	b = append(b, vendor...)
	return binary.LittleEndian.AppendUint32(b, 0)
}

// oggWriter writes one logical Ogg stream. Audio packets are copied into
// the page being made, of at most oggPagePackets; each page is written
// with one Write.
type oggWriter struct {
	w       io.Writer
	serial  uint32
	seq     uint32
	granule uint64 // at the end of the last packet added
	lacing  []byte // of the page being made
	body    []byte
	packets int
	buf     []byte
	written int64 // bytes written
	// whole and kept are the bytes of the pages written whole, and the
	// granule position of the last of them.
	whole int64
	kept  uint64
}

func newOggWriter(w io.Writer, serial uint32) *oggWriter {
	return &oggWriter{w: w, serial: serial}
}

// header writes a header packet on a page of its own.
func (o *oggWriter) header(packet []byte, bos bool) error {
	flags := byte(0)
	if bos {
		flags = oggFlagBOS
	}
	o.put(packet)
	return o.page(0, flags)
}

// add adds an audio packet of samples (48 kHz), and writes the page when
// it is full.
func (o *oggWriter) add(packet []byte, samples int) error {
	o.put(packet)
	o.granule += uint64(samples)
	if o.packets >= oggPagePackets || len(o.lacing) > oggMaxSegments-oggPacketSegments {
		return o.page(o.granule, 0)
	}
	return nil
}

// put copies a packet, under 255*255 bytes, into the page being made.
func (o *oggWriter) put(packet []byte) {
	n := len(packet)
	for n >= 255 {
		o.lacing = append(o.lacing, 255)
		n -= 255
	}
	o.lacing = append(o.lacing, byte(n))
	o.body = append(o.body, packet...)
	o.packets++
}

// finish writes the last page, marked the end of the stream (RFC 3533
// §4): the packets not written yet, if any.
func (o *oggWriter) finish() error {
	return o.page(o.granule, oggFlagEOS)
}

// page writes the page being made (at most 255 lacing values) with
// granule and flags.
func (o *oggWriter) page(granule uint64, flags byte) error {
	defer func() {
		o.lacing, o.body, o.packets = o.lacing[:0], o.body[:0], 0
	}()
	if len(o.lacing) > oggMaxSegments {
		return fmt.Errorf("media: Ogg page of %d segments", len(o.lacing))
	}
	b := o.buf[:0]
	b = append(b, "OggS"...)
	b = append(b, 0, flags)
	b = binary.LittleEndian.AppendUint64(b, granule)
	b = binary.LittleEndian.AppendUint32(b, o.serial)
	b = binary.LittleEndian.AppendUint32(b, o.seq)
	b = append(b, 0, 0, 0, 0) // CRC, set below
	b = append(b, byte(len(o.lacing)))
	b = append(b, o.lacing...)
	b = append(b, o.body...)
	binary.LittleEndian.PutUint32(b[22:], oggCRC(0, b))
	o.buf = b
	o.seq++
	n, err := o.w.Write(b)
	o.written += int64(n)
	if err == nil {
		o.whole, o.kept = o.written, granule
	}
	return err
}

// oggPage is one page read back.
type oggPage struct {
	flags   byte
	granule uint64
	serial  uint32
	seq     uint32
	crcOK   bool
	lacing  []byte
	body    []byte
}

// readOggPages splits data into pages. A page whose checksum fails is
// returned with crcOK false.
func readOggPages(data []byte) ([]oggPage, error) {
	var pages []oggPage
	for len(data) > 0 {
		if len(data) < oggHeaderSize || string(data[:4]) != "OggS" || data[4] != 0 {
			return nil, fmt.Errorf("%w: bad page header", errBadOgg)
		}
		nseg := int(data[26])
		if len(data) < oggHeaderSize+nseg {
			return nil, fmt.Errorf("%w: truncated page", errBadOgg)
		}
		lacing := data[oggHeaderSize : oggHeaderSize+nseg]
		size := 0
		for _, l := range lacing {
			size += int(l)
		}
		end := oggHeaderSize + nseg + size
		if len(data) < end {
			return nil, fmt.Errorf("%w: truncated page", errBadOgg)
		}
		p := oggPage{
			flags:   data[5],
			granule: binary.LittleEndian.Uint64(data[6:]),
			serial:  binary.LittleEndian.Uint32(data[14:]),
			seq:     binary.LittleEndian.Uint32(data[18:]),
			lacing:  lacing,
			body:    data[oggHeaderSize+nseg : end],
		}
		want := binary.LittleEndian.Uint32(data[22:])
		crc := oggCRC(0, data[:22])
		crc = oggCRC(crc, []byte{0, 0, 0, 0})
		crc = oggCRC(crc, data[26:end])
		p.crcOK = crc == want
		pages = append(pages, p)
		data = data[end:]
	}
	return pages, nil
}

// oggPackets joins the pages' segments into the packets of the first
// logical stream.
func oggPackets(pages []oggPage) ([][]byte, error) {
	var packets [][]byte
	var cur []byte
	open := false
	for i, p := range pages {
		if p.serial != pages[0].serial {
			continue
		}
		if !p.crcOK {
			return nil, fmt.Errorf("%w: page %d fails its checksum", errBadOgg, i)
		}
		body := p.body
		for _, l := range p.lacing {
			cur = append(cur, body[:l]...)
			body = body[l:]
			open = true
			if l < 255 {
				packets = append(packets, cur)
				cur, open = nil, false
			}
		}
	}
	if open {
		packets = append(packets, cur)
	}
	return packets, nil
}

// opusSamples is the duration of an Opus packet in 48 kHz samples (RFC
// 6716 §3.1), 0 for a malformed one.
func opusSamples(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	per := opusFrameSamples(p[0])
	switch p[0] & 3 {
	case 0:
		return per
	case 1, 2:
		return 2 * per
	}
	if len(p) < 2 {
		return 0
	}
	return per * int(p[1]&0x3F)
}

// opusFrameSamples is the frame size of the TOC's configuration.
func opusFrameSamples(toc byte) int {
	config := toc >> 3
	switch {
	case config < 12: // SILK: 10, 20, 40, 60 ms
		return []int{480, 960, 1920, 2880}[config&3]
	case config < 16: // hybrid: 10, 20 ms
		return []int{480, 960}[config&1]
	}
	return []int{120, 240, 480, 960}[config&3] // CELT: 2.5, 5, 10, 20 ms
}

// appendOpusLength appends a frame length as RFC 6716 §3.2.1 codes it.
func appendOpusLength(b []byte, n int) []byte {
	if n < 252 {
		return append(b, byte(n))
	}
	first := 252 + n&3
	return append(b, byte(first), byte((n-first)>>2))
}

// readOpusLength reads a frame length coded as RFC 6716 §3.2.1.
func readOpusLength(b []byte) (n, used int, ok bool) {
	switch {
	case len(b) < 1:
		return 0, 0, false
	case b[0] < 252:
		return int(b[0]), 1, true
	case len(b) < 2:
		return 0, 0, false
	}
	return int(b[0]) + 4*int(b[1]), 2, true
}

// appendSelfDelimited appends packet p in self-delimiting framing (RFC 6716
// Appendix B): the last frame's length, absent from the normal framing, is
// coded after the other lengths. It reports false for a malformed packet.
func appendSelfDelimited(b, p []byte) ([]byte, bool) {
	if len(p) < 1 {
		return b, false
	}
	toc := p[0]
	rest := p[1:]
	switch toc & 3 {
	case 0:
		b = append(b, toc)
		b = appendOpusLength(b, len(rest))
		return append(b, rest...), true
	case 1:
		if len(rest)%2 != 0 {
			return b, false
		}
		b = append(b, toc)
		b = appendOpusLength(b, len(rest)/2)
		return append(b, rest...), true
	case 2:
		n1, used, ok := readOpusLength(rest)
		if !ok || n1 > len(rest)-used {
			return b, false
		}
		b = append(b, toc)
		b = append(b, rest[:used]...)
		b = appendOpusLength(b, len(rest)-used-n1)
		return append(b, rest[used:]...), true
	}
	// Code 3: frame count byte, padding length, (VBR) M-1 lengths.
	if len(rest) < 1 {
		return b, false
	}
	fc := rest[0]
	m := int(fc & 0x3F)
	if m == 0 {
		return b, false
	}
	i := 1
	pad := 0
	if fc&0x40 != 0 {
		for {
			if i >= len(rest) {
				return b, false
			}
			v := int(rest[i])
			i++
			if v == 255 {
				pad += 254
				continue
			}
			pad += v
			break
		}
	}
	total := 0
	if fc&0x80 != 0 { // VBR
		for range m - 1 {
			n, used, ok := readOpusLength(rest[i:])
			if !ok {
				return b, false
			}
			i += used
			total += n
		}
	}
	data := len(rest) - i - pad
	if data < total || data < 0 {
		return b, false
	}
	var last int
	if fc&0x80 != 0 {
		last = data - total
	} else {
		if data%m != 0 {
			return b, false
		}
		last = data / m
	}
	b = append(b, toc)
	b = append(b, rest[:i]...)
	b = appendOpusLength(b, last)
	return append(b, rest[i:]...), true
}
