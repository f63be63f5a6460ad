package media

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
)

// ownAndLibrary is one direction done both by us and by the library, from the
// same master key and salt.
func ownAndLibrary(t *testing.T, profile srtp.ProtectionProfile) (srtpIn, srtpOut, *srtp.Context, *srtp.Context) {
	t.Helper()
	keyLen, _ := profile.KeyLen()
	saltLen, _ := profile.SaltLen()
	key, salt := make([]byte, keyLen), make([]byte, saltLen)
	_, _ = rand.Read(key)
	_, _ = rand.Read(salt)
	in, out, ok, err := newSRTP(profile, key, salt, key, salt)
	if err != nil || !ok {
		t.Fatalf("newSRTP(%v): %v, %v", profile, ok, err)
	}
	libEnc, err := srtp.CreateContext(key, salt, profile)
	if err != nil {
		t.Fatal(err)
	}
	libDec, err := srtp.CreateContext(key, salt, profile, srtp.SRTPReplayProtection(64))
	if err != nil {
		t.Fatal(err)
	}
	return in, out, libEnc, libDec
}

var ownProfiles = []srtp.ProtectionProfile{
	srtp.ProtectionProfileAeadAes128Gcm, srtp.ProtectionProfileAeadAes256Gcm,
	srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.ProtectionProfileAes128CmHmacSha1_32,
}

// TestSRTPMatchesTheLibrary: what ours encrypts the library decrypts and
// the other way round, across a sequence number wrap (the rollover
// counter), with CSRCs and a header extension.
func TestSRTPMatchesTheLibrary(t *testing.T) {
	for _, profile := range ownProfiles {
		t.Run(profile.String(), func(t *testing.T) {
			in, out, libEnc, libDec := ownAndLibrary(t, profile)
			payload := []byte("twenty milliseconds of audio")
			var buf []byte
			seq := uint16(65530)
			roc := uint32(0)
			for i := range 12 {
				hdr := rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, Timestamp: uint32(i * 960), SSRC: 0x1234abcd}
				if i%3 == 0 {
					hdr.CSRC = []uint32{7, 8}
					if err := hdr.SetExtension(1, []byte{0xAA}); err != nil {
						t.Fatal(err)
					}
				}
				enc, err := out.encrypt(buf, &hdr, payload, roc)
				if err != nil {
					t.Fatal(err)
				}
				buf = enc[:0]
				dec, err := libDec.DecryptRTP(nil, enc, nil)
				if err != nil {
					t.Fatalf("packet %d (seq %d): the library does not decrypt ours: %v", i, seq, err)
				}
				if !bytes.HasSuffix(dec, payload) {
					t.Fatalf("packet %d: the library decrypted %x", i, dec)
				}

				plain, err := hdr.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				plain = append(plain, payload...)
				theirs, err := libEnc.EncryptRTP(nil, plain, nil)
				if err != nil {
					t.Fatal(err)
				}
				got, err := in.decrypt(theirs)
				if err != nil {
					t.Fatalf("packet %d (seq %d): ours does not decrypt the library's: %v", i, seq, err)
				}
				if !bytes.Equal(got, plain) {
					t.Fatalf("packet %d: decrypted %x, want %x", i, got, plain)
				}
				seq++
				if seq == 0 {
					roc++
				}
			}
		})
	}
}

func TestSRTPRefusesReplaysAndForgeries(t *testing.T) {
	for _, profile := range ownProfiles {
		t.Run(profile.String(), func(t *testing.T) { refusesReplaysAndForgeries(t, profile) })
	}
}

func refusesReplaysAndForgeries(t *testing.T, profile srtp.ProtectionProfile) {
	in, out, _, _ := ownAndLibrary(t, profile)
	packet := func(seq uint16) []byte {
		hdr := rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, SSRC: 9}
		enc, err := out.encrypt(nil, &hdr, []byte("audio"), 0)
		if err != nil {
			t.Fatal(err)
		}
		return enc
	}
	first := packet(100)
	if _, err := in.decrypt(bytes.Clone(first)); err != nil {
		t.Fatal(err)
	}
	if _, err := in.decrypt(bytes.Clone(first)); err != errSRTPReplay {
		t.Errorf("a replay: %v", err)
	}
	forged := packet(101)
	forged[len(forged)-1] ^= 1
	if _, err := in.decrypt(forged); err != errSRTPAuth {
		t.Errorf("a forged packet: %v", err)
	}
	// The forged packet did not use up its index.
	if _, err := in.decrypt(packet(101)); err != nil {
		t.Errorf("the genuine packet after a forged one: %v", err)
	}
	// Late but within the window: accepted once.
	late := packet(99)
	if _, err := in.decrypt(bytes.Clone(late)); err != nil {
		t.Errorf("a late packet: %v", err)
	}
	if _, err := in.decrypt(late); err != errSRTPReplay {
		t.Errorf("a late packet again: %v", err)
	}
	if _, err := in.decrypt(packet(300)); err != nil {
		t.Fatal(err)
	}
	if _, err := in.decrypt(packet(102)); err != errSRTPReplay {
		t.Errorf("a packet older than the window: %v", err)
	}
	for _, short := range [][]byte{nil, make([]byte, 11), first[:20]} {
		if _, err := in.decrypt(short); err == nil {
			t.Errorf("a short packet of %d bytes accepted", len(short))
		}
	}
}

func TestSRTPDoesNotAllocate(t *testing.T) {
	for _, profile := range ownProfiles {
		t.Run(profile.String(), func(t *testing.T) { doesNotAllocate(t, profile) })
	}
}

func doesNotAllocate(t *testing.T, profile srtp.ProtectionProfile) {
	in, out, _, _ := ownAndLibrary(t, profile)
	hdr := rtp.Header{Version: 2, PayloadType: 111, SSRC: 5}
	payload := make([]byte, 80)
	buf := make([]byte, 0, 1500)
	recv := make([]byte, 1500)
	allocs := testing.AllocsPerRun(1000, func() {
		hdr.SequenceNumber++
		enc, err := out.encrypt(buf, &hdr, payload, 0)
		if err != nil {
			t.Fatal(err)
		}
		n := copy(recv, enc)
		if _, err := in.decrypt(recv[:n]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per packet encrypted and decrypted", allocs)
	}
}

func TestReplayStateAcrossRollover(t *testing.T) {
	var r replayState
	for _, seq := range []uint16{65534, 65535, 0, 1} {
		index, ok := r.check(seq)
		if !ok {
			t.Fatalf("seq %d refused", seq)
		}
		r.accept(index)
	}
	if r.highest != 1<<16|1 {
		t.Errorf("highest index %#x after a wrap", r.highest)
	}
	// 65535 of the period before, already seen; 65533 not yet, within the window.
	if _, ok := r.check(65535); ok {
		t.Error("a replay from before the wrap accepted")
	}
	if index, ok := r.check(65533); !ok || index != 65533 {
		t.Errorf("a late packet from before the wrap: index %#x, %v", index, ok)
	}
}
