package api

import (
	"net/http"
	"strconv"

	"github.com/starling-social/starling/internal/core"
)

// FamiliarFollowers is Mastodon's FamiliarFollowers entity.
type FamiliarFollowers struct {
	ID       string    `json:"id"`
	Accounts []Account `json:"accounts"`
}

// maxFamiliarIDs bounds the accounts one familiar_followers request may ask about.
const maxFamiliarIDs = 100

// familiarFollowers serves, for each account of id[] that exists, the accounts the caller
// follows that follow it. The ids come in the query, or in a JSON body, as Mastodon.py
// sends them even on this GET.
func (s *Server) familiarFollowers(w http.ResponseWriter, r *http.Request) {
	f, ok := s.readFields(w, r)
	if !ok {
		return
	}
	raw := f.Strings("id", maxFamiliarIDs)
	if !s.checkFields(w, f) {
		return
	}
	var ids []int64
	for _, s := range raw {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			ids = append(ids, n) // as Mastodon, an id that is not one matches no account
		}
	}
	found, err := s.core.FamiliarFollowersOf(r.Context(), viewerID(r), ids)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	var users []core.User
	for _, f := range found {
		users = append(users, f.Accounts...)
	}
	accts, err := s.accounts(r.Context(), users)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	out := make([]FamiliarFollowers, len(found))
	for i, f := range found {
		out[i] = FamiliarFollowers{ID: id(f.ID), Accounts: accts[:len(f.Accounts):len(f.Accounts)]}
		accts = accts[len(f.Accounts):]
	}
	writeJSON(w, http.StatusOK, out)
}
