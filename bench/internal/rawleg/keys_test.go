package rawleg

import (
	"bytes"
	"testing"

	"github.com/pion/dtls/v2"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
)

// counting is keying material 0, 1, 2, … of the asked length.
type counting struct{ label string }

func (c *counting) ExportKeyingMaterial(label string, _ []byte, n int) ([]byte, error) {
	c.label = label
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b, nil
}

func TestSplitKeys(t *testing.T) {
	var exp counting
	m, _ := exp.ExportKeyingMaterial("", nil, 2*16+2*14)
	local, remote, err := splitKeys(m, 16, 14, true)
	if err != nil {
		t.Fatal(err)
	}
	// client key 0–15, server key 16–31, client salt 32–45, server salt 46–59.
	if local.key[0] != 16 || len(local.key) != 16 || local.salt[0] != 46 || len(local.salt) != 14 {
		t.Errorf("server's write keys: key %v salt %v", local.key, local.salt)
	}
	if remote.key[0] != 0 || len(remote.key) != 16 || remote.salt[0] != 32 || len(remote.salt) != 14 {
		t.Errorf("server's read keys (the client's): key %v salt %v", remote.key, remote.salt)
	}
	cl, cr, _ := splitKeys(m, 16, 14, false)
	if !bytes.Equal(cl.key, remote.key) || !bytes.Equal(cl.salt, remote.salt) || !bytes.Equal(cr.key, local.key) || !bytes.Equal(cr.salt, local.salt) {
		t.Error("the client's keys are not the server's swapped")
	}
	for _, n := range []int{0, 59, 61} {
		if _, _, err := splitKeys(make([]byte, n), 16, 14, true); err == nil {
			t.Errorf("%d bytes of material for 60 accepted", n)
		}
	}
}

// TestContextsMatchTheLibrarysSplit: what the leg encrypts as the DTLS
// server decrypts with the keys the SRTP library derives for the DTLS
// client from the same material, and the other way round, for every
// profile the leg accepts; in place, in one reused buffer each way.
func TestContextsMatchTheLibrarysSplit(t *testing.T) {
	for _, profile := range DefaultProfiles {
		p := srtp.ProtectionProfile(profile)
		t.Run(p.String(), func(t *testing.T) {
			var exp counting
			local, remote, err := srtpContexts(&exp, profile, true)
			if err != nil {
				t.Fatal(err)
			}
			if exp.label != "EXTRACTOR-dtls_srtp" {
				t.Errorf("exported with label %q", exp.label)
			}
			cfg := srtp.Config{Profile: p}
			if err := cfg.ExtractSessionKeysFromDTLS(&exp, true); err != nil {
				t.Fatal(err)
			}
			peerLocal, err := srtp.CreateContext(cfg.Keys.LocalMasterKey, cfg.Keys.LocalMasterSalt, p)
			if err != nil {
				t.Fatal(err)
			}
			peerRemote, err := srtp.CreateContext(cfg.Keys.RemoteMasterKey, cfg.Keys.RemoteMasterSalt, p)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, "leg → peer", local, peerRemote)
			roundTrip(t, "peer → leg", peerLocal, remote)
		})
	}
}

// roundTrip encrypts a few packets with enc and decrypts them with dec,
// each in place in one buffer, and checks what comes out.
func roundTrip(t *testing.T, dir string, enc, dec *srtp.Context) {
	t.Helper()
	buf := make([]byte, 1500)
	var hdr rtp.Header
	for seq := uint16(65534); seq != 3; seq++ { // across a rollover
		payload := bytes.Repeat([]byte{byte(seq)}, 80)
		pkt := buf[:12+len(payload)]
		h := rtp.Header{Version: 2, PayloadType: opusPayloadType, SequenceNumber: seq, Timestamp: uint32(seq) * opusTicks, SSRC: 0x1234}
		if _, err := h.MarshalTo(pkt); err != nil {
			t.Fatal(err)
		}
		copy(pkt[12:], payload)
		out, err := enc.EncryptRTP(buf[:0], pkt, &hdr)
		if err != nil {
			t.Fatalf("%s: encrypt %d: %v", dir, seq, err)
		}
		if &out[0] != &buf[0] {
			t.Fatalf("%s: packet %d encrypted into a new buffer", dir, seq)
		}
		if bytes.Contains(out, payload[:16]) {
			t.Fatalf("%s: packet %d not encrypted", dir, seq)
		}
		plain, err := dec.DecryptRTP(out, out, &hdr)
		if err != nil {
			t.Fatalf("%s: decrypt %d: %v", dir, seq, err)
		}
		if &plain[0] != &buf[0] {
			t.Fatalf("%s: packet %d decrypted into a new buffer", dir, seq)
		}
		if hdr.SequenceNumber != seq || !bytes.Equal(plain[hdr.MarshalSize():], payload) {
			t.Fatalf("%s: packet %d came out as seq %d, %x", dir, seq, hdr.SequenceNumber, plain[hdr.MarshalSize():])
		}
	}
}

func TestContextsUnknownProfile(t *testing.T) {
	if _, _, err := srtpContexts(&counting{}, dtls.SRTPProtectionProfile(0x0042), true); err == nil {
		t.Error("profile 0x0042 accepted")
	}
}
