package rawleg

import "testing"

func TestClassify(t *testing.T) {
	pad := func(b []byte, n int) []byte { return append(b, make([]byte, n-len(b))...) }
	for _, c := range []struct {
		name string
		b    []byte
		want class
	}{
		{"empty", nil, classOther},
		{"stun binding request", pad([]byte{0x00, 0x01}, 20), classSTUN},
		{"stun, first byte 3", pad([]byte{0x03}, 20), classSTUN},
		{"stun shorter than its header", pad([]byte{0x00, 0x01}, 19), classOther},
		{"dtls handshake", pad([]byte{22, 0xfe, 0xfd}, 13), classDTLS},
		{"dtls change cipher spec", pad([]byte{20}, 13), classDTLS},
		{"dtls, first byte 63", pad([]byte{63}, 13), classDTLS},
		{"dtls shorter than a record header", pad([]byte{22}, 12), classOther},
		{"zrtp or turn channel (4-19, 64-79)", pad([]byte{64}, 20), classOther},
		{"rtp opus", pad([]byte{0x80, 111}, 12), classRTP},
		{"rtp opus with the marker bit", pad([]byte{0x80, 0x80 | 111}, 12), classRTP},
		{"rtp pcmu", pad([]byte{0x80, 0}, 12), classRTP},
		{"rtp shorter than its header", pad([]byte{0x80, 111}, 11), classOther},
		{"rtcp sender report", pad([]byte{0x80, 200}, 8), classRTCP},
		{"rtcp receiver report with a block", pad([]byte{0x81, 201}, 32), classRTCP},
		{"rtcp, packet type 192", pad([]byte{0x80, 192}, 8), classRTCP},
		{"rtcp, packet type 223", pad([]byte{0x80, 223}, 8), classRTCP},
		{"rtp, payload type 96 with the marker bit (224)", pad([]byte{0x80, 224}, 12), classRTP},
		{"rtcp shorter than its header", pad([]byte{0x80, 200}, 7), classOther},
		{"first byte 191", pad([]byte{191, 111}, 12), classRTP},
		{"first byte 192", pad([]byte{192, 111}, 12), classOther},
	} {
		if got := classify(c.b); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
