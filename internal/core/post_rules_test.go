package core_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
)

func TestCanDelete(t *testing.T) {
	t.Parallel()
	p := core.Post{Author: core.User{ID: 1}}
	require.True(t, core.CanDelete(&core.User{ID: 1}, p), "the author")
	require.True(t, core.CanDelete(&core.User{ID: 2, IsAdmin: true}, p), "an administrator")
	require.False(t, core.CanDelete(&core.User{ID: 2}, p), "someone else")
	require.False(t, core.CanDelete(nil, p), "nobody logged in")
}

func TestRenderBodyLinksResolvedMentionsOnly(t *testing.T) {
	t.Parallel()
	p := core.Post{Body: "hi @Bob and @carol", Mentioned: map[string]int64{"bob": 7}}
	require.Equal(t, `hi <a class="mention" href="/@Bob">@Bob</a> and @carol`, string(p.RenderBody("")))
	require.Contains(t, string(p.RenderBody("https://s.example")), `href="https://s.example/@Bob"`)
	require.Equal(t, []string{"bob"}, p.LinkedMentions())
}
