package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/starling-social/starling/internal/jobargs"
	"github.com/starling-social/starling/internal/store"
)

// Email verification: a person proves that an address is theirs by using a link sent to
// it. Signing up and changing the address enqueue, in the same transaction, a verify_email
// job; the job makes a random token, stores only its SHA-256 and mails the link. Mention
// emails go only to verified addresses.
const (
	// EmailVerificationLifetime is how long a verification link works.
	EmailVerificationLifetime = 48 * time.Hour
	// VerificationEmailsPerHour bounds the verification emails one account causes per
	// hour, signup, address changes and resends together, so that nobody can make the
	// site mail an address over and over.
	VerificationEmailsPerHour = 5
	// VerificationResendGap is the shortest time between two links to the same address;
	// asking again sooner sends nothing.
	VerificationResendGap = time.Minute
)

// Errors of email verification.
var (
	// ErrVerificationInvalid means a verification link is unknown, used already, or for
	// an address the account no longer has.
	ErrVerificationInvalid = errors.New("verification link unknown, used, or for another address")
	// ErrVerificationExpired means a verification link is older than
	// EmailVerificationLifetime.
	ErrVerificationExpired = errors.New("verification link expired")
	// ErrAlreadyVerified means the account's address is verified already.
	ErrAlreadyVerified = errors.New("email address already verified")
)

// RetryLaterError means a limit refused the request; asking again after Until works.
type RetryLaterError struct {
	// Until is when the limit allows the request again.
	Until time.Time
	// Reason says which limit, in words fit to show.
	Reason string
}

func (e *RetryLaterError) Error() string { return "retry later: " + e.Reason }

// validEmail reports whether s is a bare address like name@example.com.
func validEmail(s string) bool {
	addr, err := mail.ParseAddress(s)
	return err == nil && addr.Address == s && len(s) <= 254
}

// tokenHash is what is stored of a verification token.
func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// verificationAllowance returns the RetryLaterError that refuses another verification email
// to email for userID, or nil when one may go out. Emails of job jobID (the caller's own
// earlier attempts) do not count; pass 0 outside a job.
func verificationAllowance(ctx context.Context, q *store.Queries, userID, jobID int64, email string, now time.Time) (*RetryLaterError, error) {
	rec, err := q.EmailVerificationRecent(ctx, store.EmailVerificationRecentParams{
		UserID: userID, JobID: jobID, Email: email, Since: now.Add(-time.Hour),
	})
	if err != nil {
		return nil, err
	}
	if rec.Jobs >= VerificationEmailsPerHour {
		return &RetryLaterError{Until: rec.Oldest.Add(time.Hour),
			Reason: fmt.Sprintf("%d verification emails were sent in the last hour", rec.Jobs)}, nil
	}
	if next := rec.NewestToEmail.Add(VerificationResendGap); now.Before(next) {
		return &RetryLaterError{Until: next, Reason: "a link to this address went out less than a minute ago"}, nil
	}
	return nil, nil
}

// ChangeEmail sets userID's address to email after checking the current password (first:
// a ValidationError on email_password when it is wrong), and reports whether it changed: giving the current address again changes nothing. The new
// address is unverified until a link sent to it is used; the same transaction enqueues the
// job that sends it.
func (s *Service) ChangeEmail(ctx context.Context, userID int64, current, email string) (bool, error) {
	row, err := s.q.UserGetByID(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("change email: %w", err)
	}
	if err := checkCurrentPassword(row, current); err != nil {
		var verr *ValidationError
		if errors.As(err, &verr) { // named after this form's own password field
			return false, invalid("email_password", verr.Fields["current_password"])
		}
		return false, err
	}
	email = strings.TrimSpace(email)
	if !validEmail(email) {
		return false, invalid("email", "Enter an email address like name@example.com.")
	}
	if strings.EqualFold(email, row.Email) {
		return false, nil
	}
	err = store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		if err := q.UserSetEmail(ctx, store.UserSetEmailParams{ID: userID, Email: email}); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, jobargs.VerifyEmail{UserID: userID})
	})
	if _, ok := store.IsUniqueViolation(err); ok {
		return false, invalid("email", "An account with this email address exists already.")
	}
	if err != nil {
		return false, fmt.Errorf("change email: %w", err)
	}
	s.log.InfoContext(ctx, "email address changed; verification sent", "user_id", userID)
	return true, nil
}

// ResendEmailVerification enqueues another verification email for userID's current
// address. It returns ErrAlreadyVerified when there is nothing to verify, and a
// *RetryLaterError past VerificationEmailsPerHour or within VerificationResendGap of the
// last link to that address.
func (s *Service) ResendEmailVerification(ctx context.Context, userID int64) error {
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		u, err := q.UserGetForUpdate(ctx, userID)
		if err != nil {
			return err
		}
		if u.EmailVerifiedAt != nil {
			return ErrAlreadyVerified
		}
		limited, err := verificationAllowance(ctx, q, userID, 0, u.Email, time.Now())
		if err != nil {
			return err
		}
		if limited != nil {
			return limited
		}
		return s.enqueue(ctx, tx, jobargs.VerifyEmail{UserID: userID})
	})
	var limited *RetryLaterError
	if errors.Is(err, ErrAlreadyVerified) || errors.As(err, &limited) {
		return err
	}
	if err != nil {
		return fmt.Errorf("resend email verification: %w", err)
	}
	return nil
}

// VerificationEmail is what the verify_email worker sends: a link with a new token to the
// account's current address, or why nothing should be sent.
type VerificationEmail struct {
	Username  string
	Email     string
	Token     string
	ExpiresAt time.Time
	// Skip says why nothing should be sent, or is "" when the email should go out.
	Skip string
}

// PrepareVerificationEmail makes the link that job jobID mails to userID's current
// address: a new random token, of which only the hash is stored. It returns a Skip reason
// instead when the address is verified already, when VerificationEmailsPerHour were sent
// in the last hour, or when another job sent a link to the same address less than
// VerificationResendGap ago (a double click). A retry of the same job makes another token;
// every token sent stays valid until one is used or it expires.
func (s *Service) PrepareVerificationEmail(ctx context.Context, userID, jobID int64) (VerificationEmail, error) {
	var v VerificationEmail
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		v = VerificationEmail{}
		u, err := q.UserGetForUpdate(ctx, userID)
		if errors.Is(err, pgx.ErrNoRows) {
			v.Skip = "account no longer exists"
			return nil
		}
		if err != nil {
			return err
		}
		v.Username, v.Email = u.Username, u.Email
		if u.EmailVerifiedAt != nil {
			v.Skip = "address verified already"
			return nil
		}
		now := time.Now()
		limited, err := verificationAllowance(ctx, q, userID, jobID, u.Email, now)
		if err != nil {
			return err
		}
		if limited != nil {
			v.Skip = limited.Reason
			return nil
		}
		if err := q.EmailVerificationPrune(ctx, store.EmailVerificationPruneParams{UserID: userID, Before: now.AddDate(0, 0, -7)}); err != nil {
			return err
		}
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		v.Token = base64.RawURLEncoding.EncodeToString(b)
		v.ExpiresAt = now.Add(EmailVerificationLifetime)
		return q.EmailVerificationInsert(ctx, store.EmailVerificationInsertParams{
			TokenHash: tokenHash(v.Token), UserID: userID, Email: u.Email, JobID: jobID, ExpiresAt: v.ExpiresAt,
		})
	})
	if err != nil {
		return VerificationEmail{}, fmt.Errorf("verification email for user %d: %w", userID, err)
	}
	return v, nil
}

// PendingVerification is what a verification link would verify.
type PendingVerification struct {
	Username string
	Email    string
}

// CheckEmailVerification returns what token would verify, changing nothing: for the page
// that asks to confirm. It returns ErrVerificationInvalid or ErrVerificationExpired as
// VerifyEmail would.
func (s *Service) CheckEmailVerification(ctx context.Context, token string) (PendingVerification, error) {
	if !plausibleToken(token) {
		return PendingVerification{}, ErrVerificationInvalid
	}
	row, err := s.q.EmailVerificationLookup(ctx, tokenHash(token))
	if errors.Is(err, pgx.ErrNoRows) {
		return PendingVerification{}, ErrVerificationInvalid
	}
	if err != nil {
		return PendingVerification{}, fmt.Errorf("check email verification: %w", err)
	}
	if !strings.EqualFold(row.Email, row.CurrentEmail) {
		return PendingVerification{}, ErrVerificationInvalid
	}
	if time.Now().After(row.ExpiresAt) {
		return PendingVerification{}, ErrVerificationExpired
	}
	return PendingVerification{Username: row.Username, Email: row.Email}, nil
}

// VerifyEmail uses the link with token: the address it was sent to, when it is still the
// account's address, becomes verified, and every link of the account stops working. An
// unknown, used or superseded link gives ErrVerificationInvalid, an old one
// ErrVerificationExpired. It returns the account.
func (s *Service) VerifyEmail(ctx context.Context, token string) (User, error) {
	if !plausibleToken(token) {
		return User{}, ErrVerificationInvalid
	}
	var u store.User
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		v, err := q.EmailVerificationLockToken(ctx, tokenHash(token))
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrVerificationInvalid
		}
		if err != nil {
			return err
		}
		if time.Now().After(v.ExpiresAt) {
			return ErrVerificationExpired
		}
		if u, err = q.UserGetForUpdate(ctx, v.UserID); err != nil {
			return err
		}
		if !strings.EqualFold(u.Email, v.Email) {
			return ErrVerificationInvalid
		}
		if err := q.UserSetEmailVerified(ctx, u.ID); err != nil {
			return err
		}
		now := time.Now()
		u.EmailVerifiedAt = &now
		return q.EmailVerificationDeleteOfUser(ctx, u.ID)
	})
	if errors.Is(err, ErrVerificationInvalid) || errors.Is(err, ErrVerificationExpired) {
		return User{}, err
	}
	if err != nil {
		return User{}, fmt.Errorf("verify email: %w", err)
	}
	s.log.InfoContext(ctx, "email address verified", "user_id", u.ID)
	return userFrom(u), nil
}

// plausibleToken reports whether token could be one PrepareVerificationEmail made: 43
// characters of unpadded base64url.
func plausibleToken(token string) bool {
	if len(token) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil
}
