package password_test

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/argon2"

	"github.com/starling-social/starling/internal/password"
)

// cheap keeps the tests fast; the production default is tested once below.
var cheap = password.Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}

var encodedRE = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)

func mustHash(t *testing.T, pw string, p password.Params) string {
	t.Helper()
	h, err := password.Hash(pw, p)
	require.NoError(t, err)
	return h
}

func TestRoundTrip(t *testing.T) {
	for _, pw := range []string{
		"correct horse battery staple",
		"",
		"p",
		"pässwörd 🐦 字",
		"with$dollar$signs",
		"with\x00nul",
		strings.Repeat("long", 1000),
	} {
		t.Run(fmt.Sprintf("%.20q", pw), func(t *testing.T) {
			h := mustHash(t, pw, cheap)
			ok, err := password.Verify(pw, h)
			require.NoError(t, err)
			require.True(t, ok)
		})
	}
}

func TestWrongPassword(t *testing.T) {
	h := mustHash(t, "secret", cheap)
	for _, pw := range []string{"Secret", "secret ", " secret", "secre", "secrets", "", "secret\x00"} {
		ok, err := password.Verify(pw, h)
		require.NoError(t, err, "%q", pw)
		require.False(t, ok, "%q must not verify", pw)
	}
}

func TestEmptyPasswordDoesNotMatchOthers(t *testing.T) {
	h := mustHash(t, "", cheap)
	ok, err := password.Verify("x", h)
	require.NoError(t, err)
	require.False(t, ok)
}

func TestDifferentSalts(t *testing.T) {
	seenSalt := map[string]bool{}
	seenHash := map[string]bool{}
	for range 5 {
		h := mustHash(t, "same password", cheap)
		m := encodedRE.FindStringSubmatch(h)
		require.NotNil(t, m, h)
		require.False(t, seenSalt[m[4]], "salt reused: %s", h)
		require.False(t, seenHash[m[5]], "hash reused: %s", h)
		seenSalt[m[4]] = true
		seenHash[m[5]] = true
		ok, err := password.Verify("same password", h)
		require.NoError(t, err)
		require.True(t, ok)
	}
}

func TestEncodedFormat(t *testing.T) {
	h := mustHash(t, "pw", password.Params{MemoryKiB: 2048, Iterations: 3, Parallelism: 2})
	m := encodedRE.FindStringSubmatch(h)
	require.NotNil(t, m, "unexpected format %q", h)
	require.Equal(t, "2048", m[1])
	require.Equal(t, "3", m[2])
	require.Equal(t, "2", m[3])

	salt, err := base64.RawStdEncoding.DecodeString(m[4])
	require.NoError(t, err)
	require.Len(t, salt, 16)
	key, err := base64.RawStdEncoding.DecodeString(m[5])
	require.NoError(t, err)
	require.Len(t, key, 32)

	// The key is the plain argon2id key of the password with that salt and those params.
	require.Equal(t, argon2.IDKey([]byte("pw"), salt, 3, 2048, 2, 32), key)
	require.Equal(t, 19, argon2.Version)
}

func TestParallelismDefaultsToOne(t *testing.T) {
	h := mustHash(t, "pw", password.Params{MemoryKiB: 1024, Iterations: 1})
	require.Contains(t, h, "$m=1024,t=1,p=1$")
	ok, err := password.Verify("pw", h)
	require.NoError(t, err)
	require.True(t, ok)
}

// TestVerifyUsesStoredParams checks that Verify reads the cost from the stored hash, so
// raising the configured cost does not invalidate existing hashes.
func TestVerifyUsesStoredParams(t *testing.T) {
	for _, p := range []password.Params{
		{MemoryKiB: 1024, Iterations: 1, Parallelism: 1},
		{MemoryKiB: 2048, Iterations: 2, Parallelism: 1},
		{MemoryKiB: 1024, Iterations: 3, Parallelism: 4},
		{MemoryKiB: 64, Iterations: 1, Parallelism: 1},
	} {
		t.Run(fmt.Sprintf("m=%d,t=%d,p=%d", p.MemoryKiB, p.Iterations, p.Parallelism), func(t *testing.T) {
			h := mustHash(t, "pw", p)
			require.Contains(t, h, fmt.Sprintf("$m=%d,t=%d,p=%d$", p.MemoryKiB, p.Iterations, p.Parallelism))
			ok, err := password.Verify("pw", h)
			require.NoError(t, err)
			require.True(t, ok)
			ok, err = password.Verify("wrong", h)
			require.NoError(t, err)
			require.False(t, ok)
		})
	}
}

// TestVerifyExternalHash verifies a hash built by hand (as another implementation would),
// including a key length other than 32.
func TestVerifyExternalHash(t *testing.T) {
	salt := []byte("0123456789abcdef")
	for _, keyLen := range []uint32{16, 32, 64} {
		key := argon2.IDKey([]byte("hunter2"), salt, 2, 1536, 1, keyLen)
		h := fmt.Sprintf("$argon2id$v=19$m=1536,t=2,p=1$%s$%s",
			base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
		ok, err := password.Verify("hunter2", h)
		require.NoError(t, err)
		require.True(t, ok, "key length %d", keyLen)
		ok, err = password.Verify("hunter3", h)
		require.NoError(t, err)
		require.False(t, ok)
	}
}

// TestTamperedParamsDoNotVerify: changing the stored cost changes the derived key.
func TestTamperedParamsDoNotVerify(t *testing.T) {
	h := mustHash(t, "pw", password.Params{MemoryKiB: 1024, Iterations: 2, Parallelism: 1})
	for _, repl := range []string{"m=2048,t=2,p=1", "m=1024,t=1,p=1", "m=1024,t=2,p=2"} {
		tampered := strings.Replace(h, "m=1024,t=2,p=1", repl, 1)
		require.NotEqual(t, h, tampered)
		ok, err := password.Verify("pw", tampered)
		require.NoError(t, err)
		require.False(t, ok, repl)
	}
}

func TestProductionDefault(t *testing.T) {
	p := password.Params{MemoryKiB: 19456, Iterations: 2}
	h := mustHash(t, "correct horse battery staple", p)
	require.Regexp(t, encodedRE, h)
	require.Contains(t, h, "$m=19456,t=2,p=1$")
	ok, err := password.Verify("correct horse battery staple", h)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = password.Verify("correct horse battery stapler", h)
	require.NoError(t, err)
	require.False(t, ok)
}

func TestMalformedHash(t *testing.T) {
	good := mustHash(t, "pw", cheap)
	parts := strings.Split(good, "$")
	require.Len(t, parts, 6)
	salt, key := parts[4], parts[5]
	join := func(p ...string) string { return strings.Join(p, "$") }

	tests := []struct {
		name    string
		encoded string
	}{
		{"empty", ""},
		{"plain text", "not a hash"},
		{"only dollars", "$$$$$"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", join("", "argon2i", "v=19", "m=1024,t=1,p=1", salt, key)},
		{"argon2d", join("", "argon2d", "v=19", "m=1024,t=1,p=1", salt, key)},
		{"too few parts", join("", "argon2id", "v=19", "m=1024,t=1,p=1", salt)},
		{"too many parts", good + "$extra"},
		{"missing version", join("", "argon2id", "m=1024,t=1,p=1", salt, key, "")},
		{"old version", join("", "argon2id", "v=16", "m=1024,t=1,p=1", salt, key)},
		{"version not a number", join("", "argon2id", "v=x", "m=1024,t=1,p=1", salt, key)},
		{"params missing", join("", "argon2id", "v=19", "", salt, key)},
		{"params garbage", join("", "argon2id", "v=19", "memory=1024", salt, key)},
		{"params reordered", join("", "argon2id", "v=19", "t=1,m=1024,p=1", salt, key)},
		{"params negative", join("", "argon2id", "v=19", "m=-1,t=1,p=1", salt, key)},
		{"parallelism overflows uint8", join("", "argon2id", "v=19", "m=1024,t=1,p=256", salt, key)},
		{"memory overflows uint32", join("", "argon2id", "v=19", "m=4294967296,t=1,p=1", salt, key)},
		{"salt not base64", join("", "argon2id", "v=19", "m=1024,t=1,p=1", "!!!!", key)},
		{"salt padded base64", join("", "argon2id", "v=19", "m=1024,t=1,p=1", salt+"==", key)},
		{"hash not base64", join("", "argon2id", "v=19", "m=1024,t=1,p=1", salt, "@@@@")},
		{"hash empty", join("", "argon2id", "v=19", "m=1024,t=1,p=1", salt, "")},
		{"no leading dollar", strings.TrimPrefix(good, "$")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireMalformed(t, tt.encoded)
		})
	}
}

func requireMalformed(t *testing.T, encoded string) {
	t.Helper()
	var (
		ok  bool
		err error
	)
	require.NotPanics(t, func() { ok, err = password.Verify("pw", encoded) }, "encoded %q", encoded)
	require.ErrorIs(t, err, password.ErrMalformedHash, "encoded %q", encoded)
	require.False(t, ok)
}

// TestMalformedHashUnusableParams: a stored hash whose cost parameters argon2 cannot run
// with (zero iterations or zero lanes) is malformed; Verify must say so, not panic.
func TestMalformedHashUnusableParams(t *testing.T) {
	parts := strings.Split(mustHash(t, "pw", cheap), "$")
	salt, key := parts[4], parts[5]
	for _, params := range []string{"m=1024,t=0,p=1", "m=1024,t=1,p=0", "m=0,t=0,p=0"} {
		t.Run(params, func(t *testing.T) {
			requireMalformed(t, strings.Join([]string{"", "argon2id", "v=19", params, salt, key}, "$"))
		})
	}
}
