package httpx

import (
	"strings"
	"time"
)

// LoginLimits are the allowances of password logins. Every way to log in with a password
// (the website's form, the API's password grant) counts against the same LoginLimits, so
// that a second way gives no extra guesses.
type LoginLimits struct {
	// IP counts attempts per client address.
	IP *Limiter
	// Name counts attempts per login name, known or not, so that the limit reveals no
	// account and many addresses together cannot guess one account's password.
	Name *Limiter
}

// NewLoginLimits returns the default allowances: 30 attempts per 5 minutes per client
// address, and 10 per 5 minutes per login name.
func NewLoginLimits() *LoginLimits {
	return &LoginLimits{
		IP:   &Limiter{Limit: 30, Window: 5 * time.Minute},
		Name: &Limiter{Limit: 10, Window: 5 * time.Minute},
	}
}

// Allow counts an attempt from the address ip to log in as login (a username or email,
// in any case and with surrounding spaces, as the login form accepts it). When either
// allowance is used up it returns false and the time the attempt may be repeated. An
// attempt refused for its address does not count against the name.
func (l *LoginLimits) Allow(ip, login string, now time.Time) (ok bool, retryAt time.Time) {
	if ok, _, reset := l.IP.Allow(ip, now); !ok {
		return false, reset
	}
	if ok, _, reset := l.Name.Allow(strings.ToLower(strings.TrimSpace(login)), now); !ok {
		return false, reset
	}
	return true, time.Time{}
}
