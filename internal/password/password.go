// Package password hashes and checks passwords with argon2id, each with its own random
// salt, encoded in the common $argon2id$v=19$m=...,t=...,p=...$salt$hash form so that the
// cost can be raised later without invalidating stored hashes.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id cost parameters.
type Params struct {
	// MemoryKiB is the memory cost in KiB.
	MemoryKiB uint32
	// Iterations is the time cost.
	Iterations uint32
	// Parallelism is the number of lanes. Defaults to 1 when zero.
	Parallelism uint8
}

const (
	saltLen = 16
	keyLen  = 32
)

var b64 = base64.RawStdEncoding

// ErrMalformedHash is returned by Verify for a stored value that is not an argon2id hash.
var ErrMalformedHash = errors.New("password: malformed hash")

// Hash returns the encoded argon2id hash of pw with a fresh random salt.
func Hash(pw string, p Params) (string, error) {
	if p.Parallelism == 0 {
		p.Parallelism = 1
	}
	if p.Iterations < 1 || p.MemoryKiB < 8*uint32(p.Parallelism) {
		return "", fmt.Errorf("password: unusable argon2id parameters %+v", p)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Iterations, p.MemoryKiB, p.Parallelism, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether pw matches the encoded hash, comparing in constant time.
func Verify(pw, encoded string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrMalformedHash
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Iterations, &p.Parallelism); err != nil ||
		parts[0] != "" || parts[2] != fmt.Sprintf("v=%d", version) ||
		parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", p.MemoryKiB, p.Iterations, p.Parallelism) {
		return false, ErrMalformedHash
	}
	// Values argon2 cannot use (it panics on them) or that would cost absurd work.
	if p.Iterations < 1 || p.Iterations > 100 || p.Parallelism < 1 ||
		p.MemoryKiB < 8*uint32(p.Parallelism) || p.MemoryKiB > 4<<20 {
		return false, ErrMalformedHash
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, ErrMalformedHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, ErrMalformedHash
	}
	got := argon2.IDKey([]byte(pw), salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
