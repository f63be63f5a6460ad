package rawleg

import (
	"fmt"

	"github.com/pion/dtls/v2"
	"github.com/pion/srtp/v2"
)

// exporterLabel is the label of DTLS-SRTP's keying material (RFC 5764 §4.2).
const exporterLabel = "EXTRACTOR-dtls_srtp"

// masterKeys are one direction's SRTP master key and salt.
type masterKeys struct {
	key, salt []byte
}

// splitKeys cuts the keying material exported from a DTLS-SRTP handshake
// into the two directions' master keys. RFC 5764 §4.2 lays it out as
// client_write_SRTP_master_key | server_write_SRTP_master_key |
// client_write_SRTP_master_salt | server_write_SRTP_master_salt. The DTLS
// server writes with the server's key and reads with the client's. The
// slices share material's bytes.
func splitKeys(material []byte, keyLen, saltLen int, server bool) (local, remote masterKeys, err error) {
	if keyLen <= 0 || saltLen <= 0 || len(material) != 2*keyLen+2*saltLen {
		return local, remote, fmt.Errorf("keying material of %d bytes for %d-byte keys and %d-byte salts", len(material), keyLen, saltLen)
	}
	client := masterKeys{key: material[:keyLen], salt: material[2*keyLen : 2*keyLen+saltLen]}
	srv := masterKeys{key: material[keyLen : 2*keyLen], salt: material[2*keyLen+saltLen:]}
	if server {
		return srv, client, nil
	}
	return client, srv, nil
}

// keyExporter is what a finished DTLS handshake exports keys with
// (dtls.State).
type keyExporter interface {
	ExportKeyingMaterial(label string, context []byte, length int) ([]byte, error)
}

// srtpContexts builds the SRTP contexts of a DTLS-SRTP association that
// negotiated profile: local encrypts what this side sends, remote decrypts
// what it receives.
func srtpContexts(exp keyExporter, profile dtls.SRTPProtectionProfile, server bool) (local, remote *srtp.Context, err error) {
	p := srtp.ProtectionProfile(profile) // both packages use the IANA numbers
	keyLen, err := p.KeyLen()
	if err != nil {
		return nil, nil, fmt.Errorf("SRTP profile %#04x: %w", uint16(profile), err)
	}
	saltLen, err := p.SaltLen()
	if err != nil {
		return nil, nil, fmt.Errorf("SRTP profile %#04x: %w", uint16(profile), err)
	}
	material, err := exp.ExportKeyingMaterial(exporterLabel, nil, 2*keyLen+2*saltLen)
	if err != nil {
		return nil, nil, fmt.Errorf("export SRTP keys: %w", err)
	}
	lk, rk, err := splitKeys(material, keyLen, saltLen, server)
	if err != nil {
		return nil, nil, err
	}
	if local, err = srtp.CreateContext(lk.key, lk.salt, p); err != nil {
		return nil, nil, fmt.Errorf("local SRTP context: %w", err)
	}
	if remote, err = srtp.CreateContext(rk.key, rk.salt, p); err != nil {
		return nil, nil, fmt.Errorf("remote SRTP context: %w", err)
	}
	return local, remote, nil
}
