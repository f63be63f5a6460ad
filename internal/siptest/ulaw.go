package siptest

import "math/bits"

// EncodeULaw is the G.711 μ-law byte of a linear sample (ITU-T G.711): the
// magnitude, biased, as a segment (the position of its highest bit) and
// the four bits below it, with the sign, all inverted.
func EncodeULaw(s int16) byte {
	const bias, clip = 0x84, 32635
	v, sign := int(s), 0
	if v < 0 {
		v, sign = -v, 0x80
	}
	v = min(v, clip) + bias
	seg := bits.Len(uint(v>>7)) - 1
	return ^byte(sign | seg<<4 | (v>>(seg+3))&0x0f)
}

// DecodeULaw is the linear sample of a G.711 μ-law byte.
func DecodeULaw(b byte) int16 {
	u := ^b
	exp := (u >> 4) & 7
	s := ((int(u&0x0f) << 3) + 0x84) << exp
	s -= 0x84
	if u&0x80 != 0 {
		return int16(-s)
	}
	return int16(s)
}
