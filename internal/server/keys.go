package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// sessionKeysFile holds the generated session keys inside the data dir.
const sessionKeysFile = "session.keys"

// loadSessionKeys returns the cookie signing (64 bytes) and encryption (32
// bytes) keys: from the configured value when given, else from the data dir,
// generating and saving them (mode 0600) on first start.
func loadSessionKeys(dataDir, configured string) (hashKey, blockKey []byte, err error) {
	if configured != "" {
		return parseSessionKeys(configured)
	}
	path := filepath.Join(dataDir, sessionKeysFile)
	b, err := os.ReadFile(path)
	if err == nil {
		return parseSessionKeys(strings.TrimSpace(string(b)))
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("session keys %s: %w", path, err)
	}
	hashKey, blockKey = make([]byte, 64), make([]byte, 32)
	rand.Read(hashKey)
	rand.Read(blockKey)
	line := hex.EncodeToString(hashKey) + ":" + hex.EncodeToString(blockKey) + "\n"
	if err := os.WriteFile(path, []byte(line), 0o600); err != nil {
		return nil, nil, fmt.Errorf("session keys %s: %w", path, err)
	}
	return hashKey, blockKey, nil
}

func parseSessionKeys(s string) ([]byte, []byte, error) {
	h, b, ok := strings.Cut(s, ":")
	hashKey, err1 := hex.DecodeString(h)
	blockKey, err2 := hex.DecodeString(b)
	if !ok || err1 != nil || err2 != nil || len(hashKey) < 32 || len(blockKey) != 32 {
		return nil, nil, errors.New("session keys must be hex HASHKEY:BLOCKKEY with a hash key of at least 32 bytes and a 32-byte block key")
	}
	return hashKey, blockKey, nil
}
