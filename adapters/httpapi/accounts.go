package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/credence-dev/credence/core/accounts"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

type signupIn struct {
	Body struct {
		Email    string `json:"email" maxLength:"254" doc:"the account's email; a verification link is mailed to it"`
		Password string `json:"password" maxLength:"256" doc:"10 to 256 characters, not the email, not a common password"`
		Name     string `json:"name" maxLength:"120"`
	}
}

type messageOut struct {
	Body struct {
		Message string `json:"message"`
	}
}

func message(s string) *messageOut {
	out := &messageOut{}
	out.Body.Message = s
	return out
}

type tokenIn struct {
	Body struct {
		Token string `json:"token" maxLength:"512" doc:"the token from the emailed link"`
	}
}

type emailIn struct {
	Body struct {
		Email string `json:"email" maxLength:"254"`
	}
}

type loginIn struct {
	Body struct {
		Email       string `json:"email" maxLength:"254"`
		Password    string `json:"password" maxLength:"1024"`
		DeviceToken string `json:"deviceToken,omitempty" maxLength:"512" doc:"the deviceToken of this client's last sign-in to the account: with it, a lock-out of the email (which anyone can set off with wrong passwords) does not refuse this sign-in; wrong passwords then count against the device. An unknown, expired or revoked one, or one of another account, is ignored"`
	}
}

type sessionOut struct {
	Body struct {
		Token       string     `json:"token,omitempty" doc:"send as Authorization: Bearer <token>; absent when mfaRequired"`
		ExpiresAt   *time.Time `json:"expiresAt,omitempty"`
		DeviceToken string     `json:"deviceToken,omitempty" doc:"keep it on this client and send it with its next sign-in to the account (a new one each time; it ends 90 days after its last use); absent when mfaRequired"`
		MFARequired bool       `json:"mfaRequired,omitempty" doc:"a code was mailed: POST it with challengeId to /api/v1/auth/mfa"`
		ChallengeID string     `json:"challengeId,omitempty"`
	}
}

func sessionOf(tok accounts.SessionToken) *sessionOut {
	out := &sessionOut{}
	if tok.MFAChallenge != "" {
		out.Body.MFARequired, out.Body.ChallengeID = true, tok.MFAChallenge
		return out
	}
	out.Body.Token, out.Body.ExpiresAt, out.Body.DeviceToken = tok.Token, &tok.ExpiresAt, tok.DeviceToken
	return out
}

type mfaIn struct {
	Body struct {
		ChallengeID string `json:"challengeId" maxLength:"64"`
		Code        string `json:"code" maxLength:"16" doc:"the 6 digits mailed at sign-in"`
	}
}

type mfaSettingOut struct {
	Status int
	Body   struct {
		MFAEnabled       bool   `json:"mfaEnabled" doc:"you switched it on"`
		MFARequiredByOrg bool   `json:"mfaRequiredByOrg" doc:"an organization of yours requires it, whatever your setting"`
		CodeSent         bool   `json:"codeSent,omitempty" doc:"202: nothing changed yet; a code was mailed to you: send it back with challengeId to switch off"`
		ChallengeID      string `json:"challengeId,omitempty"`
	}
}

type membershipWire struct {
	OrgID   string `json:"orgId"`
	OrgName string `json:"orgName"`
	OrgSlug string `json:"orgSlug"`
	Status  string `json:"status" doc:"the organization's review status"`
	Role    string `json:"role"`
}

type meOut struct {
	Body struct {
		ID            string           `json:"id"`
		Email         string           `json:"email"`
		Name          string           `json:"name"`
		EmailVerified bool             `json:"emailVerified"`
		Admin         bool             `json:"admin" doc:"platform administrator"`
		MFAEnabled    bool             `json:"mfaEnabled" doc:"sign-in asks for an emailed code"`
		MFARequired   bool             `json:"mfaRequiredByOrg" doc:"an organization of the user requires sign-in codes"`
		CreatedAt     time.Time        `json:"createdAt"`
		Memberships   []membershipWire `json:"memberships"`
		Invitations   []invitationWire `json:"invitations" doc:"open invitations to your verified email: accept or decline them"`
	}
}

// invitationWire is a pending invitation to an organization.
type invitationWire struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"orgId"`
	OrgName   string    `json:"orgName"`
	Role      string    `json:"role"`
	ExpiresAt time.Time `json:"expiresAt"`
}

type resetConfirmIn struct {
	Body struct {
		Token    string `json:"token" maxLength:"512" doc:"the token from the emailed reset link"`
		Password string `json:"password" maxLength:"256" doc:"the new password: 10 to 256 characters, not the email, not a common password"`
	}
}

type passwordChangeIn struct {
	Body struct {
		CurrentPassword string `json:"currentPassword" maxLength:"1024" doc:"the password now; a wrong one counts as a failed sign-in (the fifth locks the account)"`
		NewPassword     string `json:"newPassword" maxLength:"256" doc:"the new password: 10 to 256 characters, not the email, not a common password"`
	}
}

// sessionWire is one of the signed-in user's sessions.
type sessionWire struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"createdAt" doc:"when it was opened by signing in"`
	LastSeenAt time.Time `json:"lastSeenAt" doc:"last use, to the minute"`
	ExpiresAt  time.Time `json:"expiresAt" doc:"when it ends: a week after sign-in, or a day after its last use if sooner"`
	IP         string    `json:"ip" doc:"client address at sign-in"`
	UserAgent  string    `json:"userAgent" doc:"client at sign-in"`
	Current    bool      `json:"current" doc:"the session of this request"`
}

func (s *server) registerAccounts(api huma.API) {
	tag := "Accounts"
	huma.Register(api, authLimited(withStatus(publicOp(op(http.MethodPost, "/api/v1/auth/signup", "sign-up", "Create an account", tag)), 201)),
		func(ctx context.Context, in *signupIn) (*messageOut, error) {
			err := s.Accounts.SignUp(ctx, accounts.SignUpInput{Email: in.Body.Email, Password: in.Body.Password, Name: in.Body.Name})
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return message("check your inbox: a verification link was sent to " + domain.NormalizeEmail(in.Body.Email)), nil
		})
	huma.Register(api, publicOp(op(http.MethodPost, "/api/v1/auth/verify-email", "verify-email", "Confirm an email address with the emailed token", tag)),
		func(ctx context.Context, in *tokenIn) (*messageOut, error) {
			if err := s.Accounts.VerifyEmail(ctx, in.Body.Token); err != nil {
				return nil, s.from(ctx, err)
			}
			return message("email verified; you can sign in"), nil
		})
	huma.Register(api, authLimited(withStatus(publicOp(op(http.MethodPost, "/api/v1/auth/resend-verification", "resend-verification", "Mail a fresh verification link", tag)), 202)),
		func(ctx context.Context, in *emailIn) (*messageOut, error) {
			if err := s.Accounts.ResendVerification(ctx, in.Body.Email); err != nil {
				return nil, s.from(ctx, err)
			}
			return message("if that address has an unverified account, a new link is on its way"), nil
		})
	huma.Register(api, publicOp(op(http.MethodPost, "/api/v1/auth/login", "login", "Sign in and get a session token", tag)),
		func(ctx context.Context, in *loginIn) (*sessionOut, error) {
			tok, err := s.Accounts.Login(ctx, accounts.LoginInput{Email: in.Body.Email, Password: in.Body.Password,
				DeviceToken: in.Body.DeviceToken}, clientFrom(ctx))
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return sessionOf(tok), nil
		})
	huma.Register(api, publicOp(op(http.MethodPost, "/api/v1/auth/mfa", "verify-mfa", "Finish a sign-in with the emailed code", tag)),
		func(ctx context.Context, in *mfaIn) (*sessionOut, error) {
			tok, err := s.Accounts.VerifyMFA(ctx, in.Body.ChallengeID, strings.TrimSpace(in.Body.Code), clientFrom(ctx))
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return sessionOf(tok), nil
		})
	setMFA := op(http.MethodPut, "/api/v1/me/mfa", "set-my-mfa", "Switch sign-in codes by email on or off", tag)
	setMFA.Description = "Switching on needs nothing more. Switching off needs a proof that a session alone cannot give: " +
		"`password`, or a fresh mailed code. Without either, a code is mailed and the answer is 202 {codeSent, challengeId}, " +
		"nothing changed; send {enabled: false, challengeId, code} to finish (a wrong, expired or spent code is 401 MFA_INVALID)."
	huma.Register(api, setMFA,
		func(ctx context.Context, in *struct { // an anonymous body keeps its schema's name, Set-my-mfaRequest
			Body struct {
				Enabled     bool   `json:"enabled"`
				Password    string `json:"password,omitempty" maxLength:"1024" doc:"switching off: your password (a wrong one is 403 WRONG_PASSWORD and counts as a failed sign-in)"`
				ChallengeID string `json:"challengeId,omitempty" maxLength:"64" doc:"switching off: the challengeId of the 202 answer that mailed the code"`
				Code        string `json:"code,omitempty" maxLength:"16" doc:"switching off: the 6 digits mailed"`
			}
		}) (*mfaSettingOut, error) {
			st, err := s.Accounts.SetMFA(ctx, actorFrom(ctx), accounts.MFAChange{Enabled: in.Body.Enabled, Password: in.Body.Password,
				ChallengeID: in.Body.ChallengeID, Code: strings.TrimSpace(in.Body.Code)}, clientFrom(ctx))
			if err != nil {
				return nil, s.from(ctx, err)
			}
			out := &mfaSettingOut{Status: http.StatusOK}
			out.Body.MFAEnabled, out.Body.MFARequiredByOrg = st.Enabled, st.RequiredByOrg
			if st.Challenge != "" {
				out.Status, out.Body.CodeSent, out.Body.ChallengeID = http.StatusAccepted, true, st.Challenge
			}
			return out, nil
		})
	// huma documents the default status alone; the 202 has the same body.
	if put := api.OpenAPI().Paths["/api/v1/me/mfa"].Put; put != nil && put.Responses["200"] != nil {
		accepted := *put.Responses["200"]
		accepted.Description = "Nothing changed yet: a code was mailed to switch off with"
		put.Responses["202"] = &accepted
	}
	huma.Register(api, withStatus(op(http.MethodPost, "/api/v1/auth/logout", "logout", "End the current session", tag), 204),
		func(ctx context.Context, in *struct {
			Authorization string `header:"Authorization"`
		}) (*emptyOut, error) {
			token, _ := bearer(in.Authorization)
			if err := s.Accounts.Logout(ctx, token); err != nil {
				return nil, s.from(ctx, err)
			}
			return &emptyOut{}, nil
		})
	huma.Register(api, authLimited(withStatus(publicOp(op(http.MethodPost, "/api/v1/auth/password-reset", "request-password-reset", "Mail a single-use password reset link", tag)), 202)),
		func(ctx context.Context, in *emailIn) (*messageOut, error) {
			if err := s.Accounts.RequestPasswordReset(ctx, in.Body.Email); err != nil {
				return nil, s.from(ctx, err)
			}
			return message("if that address has an account, a reset link is on its way; it works once, for 1 hour"), nil
		})
	huma.Register(api, publicOp(op(http.MethodPost, "/api/v1/auth/password-reset/confirm", "confirm-password-reset", "Set a new password with the emailed token; signs out every session and ends the other reset links", tag)),
		func(ctx context.Context, in *resetConfirmIn) (*messageOut, error) {
			if err := s.Accounts.ConfirmPasswordReset(ctx, in.Body.Token, in.Body.Password); err != nil {
				return nil, s.from(ctx, err)
			}
			return message("password changed; every session was signed out: sign in again"), nil
		})
	change := op(http.MethodPost, "/api/v1/me/password", "change-my-password",
		"Change the password, proving the current one; ends the other sessions and the outstanding reset links", tag)
	change.Description = "For a signed-in user (a session; API keys are refused). A locked account answers 423 ACCOUNT_LOCKED " +
		"before anything is checked. A wrong `currentPassword` answers 403 WRONG_PASSWORD and counts as a failed sign-in of the " +
		"account and of the client address: the fifth in a row locks the account (423 ACCOUNT_LOCKED, with Retry-After), and " +
		"the address's budget of failed sign-ins, once spent, answers 429 RATE_LIMITED. `newPassword` follows the sign-up policy " +
		"(422 VALIDATION_FAILED at body.newPassword). On success every other session of the user is signed out (the one of " +
		"this request stays), every password reset link mailed earlier stops working, and the owner is mailed."
	change.Errors = []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusUnprocessableEntity, http.StatusLocked, http.StatusTooManyRequests}
	huma.Register(api, change,
		func(ctx context.Context, in *passwordChangeIn) (*messageOut, error) {
			err := s.Accounts.ChangePassword(ctx, actorFrom(ctx),
				accounts.ChangePasswordInput{Current: in.Body.CurrentPassword, New: in.Body.NewPassword}, clientFrom(ctx))
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return message("password changed; every other session was signed out"), nil
		})
	huma.Register(api, op(http.MethodGet, "/api/v1/me/sessions", "list-my-sessions", "The signed-in user's live sessions, newest first", tag),
		func(ctx context.Context, _ *struct{}) (*listOut[sessionWire], error) {
			actor := actorFrom(ctx)
			ss, err := s.Accounts.Sessions(ctx, actor)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			out := &listOut[sessionWire]{Body: List[sessionWire]{Items: make([]sessionWire, 0, len(ss))}}
			for _, x := range ss {
				out.Body.Items = append(out.Body.Items, sessionWire{ID: x.ID, CreatedAt: x.CreatedAt, LastSeenAt: x.LastSeenAt,
					ExpiresAt: x.EndsAt(), IP: x.IP, UserAgent: x.UserAgent, Current: x.ID == actor.SessionID})
			}
			return out, nil
		})
	huma.Register(api, withStatus(op(http.MethodDelete, "/api/v1/me/sessions/{sessionId}", "revoke-my-session", "End one of the signed-in user's sessions", tag), 204),
		func(ctx context.Context, in *struct {
			SessionID string `path:"sessionId" maxLength:"64"`
		}) (*emptyOut, error) {
			if err := s.Accounts.RevokeSession(ctx, actorFrom(ctx), in.SessionID); err != nil {
				return nil, s.from(ctx, err)
			}
			return &emptyOut{}, nil
		})
	huma.Register(api, op(http.MethodGet, "/api/v1/me", "get-me", "The signed-in user, memberships and invitations", tag),
		func(ctx context.Context, _ *struct{}) (*meOut, error) {
			p, err := s.Accounts.Me(ctx, actorFrom(ctx))
			if err != nil {
				return nil, s.from(ctx, err)
			}
			out := &meOut{}
			b := &out.Body
			b.ID, b.Email, b.Name, b.EmailVerified, b.Admin, b.CreatedAt = p.User.ID, p.User.Email, p.User.Name, p.User.Verified(), p.Admin, p.User.CreatedAt
			b.MFAEnabled, b.MFARequired = p.MFA.Enabled, p.MFA.RequiredByOrg
			b.Memberships = make([]membershipWire, 0, len(p.Memberships))
			for _, m := range p.Memberships {
				b.Memberships = append(b.Memberships, membershipWire{OrgID: m.Org.ID, OrgName: m.Org.Name, OrgSlug: m.Org.Slug, Status: string(m.Org.Status), Role: string(m.Role)})
			}
			b.Invitations = make([]invitationWire, 0, len(p.Invitations))
			for _, i := range p.Invitations {
				b.Invitations = append(b.Invitations, invitationWire{ID: i.ID, OrgID: i.OrgID, OrgName: i.OrgName, Role: string(i.Role), ExpiresAt: i.ExpiresAt})
			}
			return out, nil
		})
	huma.Register(api, op(http.MethodGet, "/api/v1/me/credentials", "list-my-credentials", "Credentials issued to the signed-in user's verified email", tag),
		func(ctx context.Context, in *PageParams) (*listOut[credentialWire], error) {
			cs, err := s.Credentials.Mine(ctx, actorFrom(ctx), ports.Page{After: in.Cursor, Limit: in.Limit})
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &listOut[credentialWire]{Body: listOf(cs, in.Limit, s.credentialWire, credCursor)}, nil
		})
}
