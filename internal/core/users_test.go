package core_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/pgtest"
)

// TestDisplayNamesRefuseHiddenFormatting: a display name with a bidirectional control or
// a zero-width character is refused at signup and in the settings (issue 13, item 13).
func TestDisplayNamesRefuseHiddenFormatting(t *testing.T) {
	tx := pgtest.Tx(t)
	s := newService(tx)
	ctx := context.Background()
	alice := mustUser(t, s, "alice")
	for _, name := range []string{"Ali\u202Ece", "\u2067admin\u2069", "a\u200Fb", "a\u061Cb", "Ali\u200Bce", "Al\u200Dice", "\uFEFFAlice", "a\u2060b"} {
		_, err := s.SignUp(ctx, core.SignUpInput{Username: "bob", Email: "bob@example.com", Password: "a long enough passphrase", DisplayName: name})
		require.Contains(t, fieldErr(t, err, "display_name"), "invisible", "%q", name)
		err = s.UpdateSettings(ctx, alice.ID, core.Settings{DisplayName: name})
		require.Contains(t, fieldErr(t, err, "display_name"), "invisible", "%q", name)
	}
	require.Equal(t, 1, count(t, tx, `SELECT count(*) FROM users`))
	require.Equal(t, 0, count(t, tx, `SELECT count(*) FROM users WHERE display_name <> ''`))

	// Right-to-left names themselves are fine.
	require.NoError(t, s.UpdateSettings(ctx, alice.ID, core.Settings{DisplayName: "אליס", Bio: "שלום"}))
	_, err := s.SignUp(ctx, core.SignUpInput{Username: "bob", Email: "bob@example.com", Password: "a long enough passphrase", DisplayName: "بوب"})
	require.NoError(t, err)
}
