package avatar_test

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/avatar"
)

// TestDefaultAvatarsAreDistinctAndStable: the same id draws the same picture, different
// ids draw different ones (500 ids, no two alike), each a Size×Size PNG with something
// drawn on it.
func TestDefaultAvatarsAreDistinctAndStable(t *testing.T) {
	t.Parallel()
	seen := map[string]int64{}
	for id := int64(1); id <= 500; id++ {
		b := avatar.Default(id)
		require.Equal(t, b, avatar.Default(id), "stable")
		if other, dup := seen[string(b)]; dup {
			t.Fatalf("accounts %d and %d have the same default avatar", other, id)
		}
		seen[string(b)] = id
		img, err := png.Decode(bytes.NewReader(b))
		require.NoError(t, err)
		require.Equal(t, avatar.Size, img.Bounds().Dx())
		require.Equal(t, avatar.Size, img.Bounds().Dy())
		bg, center := img.At(0, 0), 0
		for x := 0; x < avatar.Size; x += 4 {
			for y := 0; y < avatar.Size; y += 4 {
				if img.At(x, y) != bg {
					center++
				}
			}
		}
		require.Positive(t, center, "account %d: nothing drawn", id)
	}
}
