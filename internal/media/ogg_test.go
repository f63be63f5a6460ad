package media

import (
	"bytes"
	"slices"
	"testing"
)

// The shipped prompts were written by libogg: their checksums are right,
// so they check the reader's.
func TestOggChecksumsOfShippedFiles(t *testing.T) {
	for name, data := range map[string][]byte{"greeting": greetingOpus, "beep": beepOpus} {
		pages, err := readOggPages(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, p := range pages {
			if !p.crcOK {
				t.Fatalf("%s: page %d fails its checksum", name, i)
			}
		}
		data = bytes.Clone(data)
		data[len(data)-1] ^= 1
		pages, _ = readOggPages(data)
		if pages[len(pages)-1].crcOK {
			t.Fatalf("%s: a changed byte passes the checksum", name)
		}
	}
}

func TestOggWriterLacesLongPackets(t *testing.T) {
	var buf bytes.Buffer
	w := newOggWriter(&buf, 7)
	if err := w.header(opusHead{channels: 1, preSkip: opusPreSkip, inputRate: opusRate}.marshal(), true); err != nil {
		t.Fatal(err)
	}
	long := bytes.Repeat([]byte{0xF8}, 600)  // three lacing values: 255, 255, 90
	exact := bytes.Repeat([]byte{0xF8}, 255) // 255 then 0
	for _, p := range [][]byte{long, exact, opusSilence} {
		if err := w.add(p, recordSamples); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
	pages, err := readOggPages(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 2 || pages[1].granule != 3*recordSamples || pages[1].flags != oggFlagEOS {
		t.Fatalf("pages %+v", pages)
	}
	if want := []byte{255, 255, 90, 255, 0, 3}; !bytes.Equal(pages[1].lacing, want) {
		t.Fatalf("lacing %v, want %v", pages[1].lacing, want)
	}
	packets, err := oggPackets(pages)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(packets[1:], [][]byte{long, exact, opusSilence}, bytes.Equal) {
		t.Fatal("packets read back differ")
	}
	if w.written != int64(buf.Len()) {
		t.Fatalf("written %d, buffer %d", w.written, buf.Len())
	}
}

func TestSelfDelimitedFraming(t *testing.T) {
	big := bytes.Repeat([]byte{1}, 300)
	for _, tc := range []struct {
		name    string
		in, out []byte
	}{
		{"code 0", []byte{0xF8, 1, 2, 3}, []byte{0xF8, 3, 1, 2, 3}},
		{"code 0, long", append([]byte{0xF8}, big...), append([]byte{0xF8, 252, 12}, big...)}, // 300 = 252 + 4*12
		{"code 1", []byte{0xF9, 1, 2, 3, 4}, []byte{0xF9, 2, 1, 2, 3, 4}},
		{"code 2", []byte{0xFA, 1, 9, 7, 7}, []byte{0xFA, 1, 2, 9, 7, 7}},
		{"code 3 CBR", []byte{0xFB, 0x03, 1, 2, 3}, []byte{0xFB, 0x03, 1, 1, 2, 3}},
		{"code 3 VBR", []byte{0xFB, 0x82, 1, 5, 6, 6}, []byte{0xFB, 0x82, 1, 2, 5, 6, 6}},
		{"code 3 padded", []byte{0xFB, 0x41, 2, 5, 0, 0}, []byte{0xFB, 0x41, 2, 1, 5, 0, 0}},
	} {
		got, ok := appendSelfDelimited(nil, tc.in)
		if !ok || !bytes.Equal(got, tc.out) {
			t.Errorf("%s: %v %v, want %v", tc.name, got, ok, tc.out)
		}
	}
	for _, bad := range [][]byte{{}, {0xF9, 1, 2, 3}, {0xFA, 9, 1}, {0xFB}, {0xFB, 0x00}, {0xFB, 0x03, 1, 2}} {
		if got, ok := appendSelfDelimited(nil, bad); ok {
			t.Errorf("%v framed as %v", bad, got)
		}
	}
}

func TestOpusSamples(t *testing.T) {
	for _, tc := range []struct {
		p    []byte
		want int
	}{
		{[]byte{0x08}, 960},        // SILK NB 20 ms
		{[]byte{0x78}, 960},        // hybrid FB 20 ms
		{[]byte{0xF8, 0xFF}, 960},  // CELT FB 20 ms
		{[]byte{0xE0}, 120},        // CELT 2.5 ms
		{[]byte{0x09, 1, 2}, 1920}, // code 1: two SILK 20 ms frames
		{[]byte{0xFB, 0x03}, 2880}, // three CELT 20 ms frames
		{nil, 0},
	} {
		if got := opusSamples(tc.p); got != tc.want {
			t.Errorf("opusSamples(%x) = %d, want %d", tc.p, got, tc.want)
		}
	}
}

func TestG711DecodeTables(t *testing.T) {
	for c := range 256 {
		if got, want := int(ulawPCM[c]), ulawDecode(byte(c)); got != want {
			t.Fatalf("μ-law %#x: %d, want %d", c, got, want)
		}
		if got, want := int(alawPCM[c]), alawDecode(byte(c)); got != want {
			t.Fatalf("A-law %#x: %d, want %d", c, got, want)
		}
	}
}
