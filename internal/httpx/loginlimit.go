package httpx

import (
	"sync"
	"time"
)

// LoginLimits are the allowances of password checks: logins (the website's form, the
// API's password grant) and the current-password checks of a logged-in person (a password
// change, a new personal token). Every way to check a password counts against the same
// LoginLimits, so that a second way gives no extra guesses.
//
// Two allowances apply. IP counts every attempt per client address. The account allowance
// counts attempts per account and client address together: after Free attempts that did
// not succeed, each further one waits, Backoff at first and twice as long after each
// attempt, up to MaxBackoff; a success clears it, and an hour without attempts forgets it.
// Because it is keyed on the address too, nobody can use it to lock a person out of their
// account from elsewhere. The account is named by a key that is the same for its username
// and its email (see core.LoginKey), and unknown names get keys of their own under the
// same rules, so that the allowances reveal no account.
//
// The allowances live in one process: with N processes behind a balancer, a client gets
// up to N times them.
type LoginLimits struct {
	// IP counts attempts per client address.
	IP *Limiter
	// Free is how many attempts an account may have from one address before backoff.
	Free int
	// Backoff is the first wait after the free attempts; it doubles with each attempt.
	Backoff time.Duration
	// MaxBackoff bounds the wait.
	MaxBackoff time.Duration

	mu       sync.Mutex
	accounts map[accountIP]*backoff
	sweep    time.Time
}

type accountIP struct{ account, ip string }

// backoff is an account's attempts from one address that have not (yet) succeeded.
type backoff struct {
	n     int
	until time.Time // no attempt before this
	last  time.Time
}

// forgetAfter is how long after the last attempt an account's backoff from an address
// is forgotten.
const forgetAfter = time.Hour

// NewLoginLimits returns the default allowances: 30 attempts per 5 minutes per client
// address, and per account and address 5 free attempts, then waits of 30 seconds
// doubling up to 15 minutes.
func NewLoginLimits() *LoginLimits {
	return &LoginLimits{
		IP:   &Limiter{Limit: 30, Window: 5 * time.Minute},
		Free: 5, Backoff: 30 * time.Second, MaxBackoff: 15 * time.Minute,
	}
}

// Allow counts an attempt from the address ip to pass the password check of account (a
// key from core.LoginKey). The attempt counts as failed until Succeeded says otherwise, so
// that attempts made at once are counted too. When it may not be made yet, Allow returns
// false and the time it may be repeated; a refused attempt counts against nothing.
func (l *LoginLimits) Allow(ip, account string, now time.Time) (ok bool, retryAt time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.accounts == nil {
		l.accounts = map[accountIP]*backoff{}
	}
	if now.After(l.sweep) { // forget old backoffs now and then, so memory stays bounded
		for k, b := range l.accounts {
			if now.Sub(b.last) >= forgetAfter && !now.Before(b.until) {
				delete(l.accounts, k)
			}
		}
		l.sweep = now.Add(forgetAfter)
	}
	k := accountIP{account, ip}
	b := l.accounts[k]
	if b != nil && now.Before(b.until) {
		return false, b.until
	}
	if ok, _, reset := l.IP.Allow(ip, now); !ok {
		return false, reset
	}
	if b == nil || (now.Sub(b.last) >= forgetAfter) {
		b = &backoff{}
		l.accounts[k] = b
	}
	b.n++
	b.last = now
	if over := b.n - l.Free; over >= 0 {
		wait := l.Backoff
		for range over {
			if wait >= l.MaxBackoff {
				break
			}
			wait *= 2
		}
		b.until = now.Add(min(wait, l.MaxBackoff))
	}
	return true, time.Time{}
}

// Succeeded records that the attempt from ip to pass account's password check was right:
// the account's backoff from that address starts over.
func (l *LoginLimits) Succeeded(ip, account string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.accounts, accountIP{account, ip})
}
