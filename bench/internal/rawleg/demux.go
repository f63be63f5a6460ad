package rawleg

// class is what a datagram on a leg's socket carries.
type class uint8

const (
	classOther class = iota
	classSTUN
	classDTLS
	classRTP
	classRTCP
)

func (c class) String() string {
	switch c {
	case classSTUN:
		return "stun"
	case classDTLS:
		return "dtls"
	case classRTP:
		return "rtp"
	case classRTCP:
		return "rtcp"
	}
	return "other"
}

// classify tells STUN, DTLS, RTP and RTCP apart by their first bytes, as
// RFC 7983 §7 says for one socket carrying them all: 0–3 STUN, 20–63 DTLS,
// 128–191 RTP or RTCP; and among those RTCP by its packet type (the second
// byte) in 192–223 (RFC 5761 §4), which no RTP payload type with or
// without the marker bit takes for audio. Too short a datagram for its
// class is classOther.
func classify(b []byte) class {
	if len(b) == 0 {
		return classOther
	}
	switch first := b[0]; {
	case first <= 3:
		if len(b) < 20 { // a STUN header
			return classOther
		}
		return classSTUN
	case first >= 20 && first <= 63:
		if len(b) < 13 { // a DTLS record header
			return classOther
		}
		return classDTLS
	case first >= 128 && first <= 191:
		if len(b) < 8 { // an RTCP header with its SSRC; RTP needs 12
			return classOther
		}
		if b[1] >= 192 && b[1] <= 223 {
			return classRTCP
		}
		if len(b) < 12 {
			return classOther
		}
		return classRTP
	}
	return classOther
}
