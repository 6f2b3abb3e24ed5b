package domain

import (
	"strings"
	"time"
)

// OrgStatus is the review state of an organization.
type OrgStatus string

// Organization statuses.
const (
	OrgPendingReview OrgStatus = "pending_review"
	OrgApproved      OrgStatus = "approved"
	OrgRejected      OrgStatus = "rejected"
	OrgSuspended     OrgStatus = "suspended"
)

// Organization is an issuer: it owns badges, signing keys and credentials.
type Organization struct {
	ID          string
	Name        string
	Slug        string // immutable: it names the issuer's did:web and public URLs
	WebsiteURL  string
	Description string
	// LogoURL is the hosted URL of the uploaded logo ("" without one):
	// the issuer profile's image.
	LogoURL       string
	Status        OrgStatus
	StatusReason  string // why it was rejected or suspended
	Plan          PlanName
	EmailsEnabled bool // recipient emails (credential issued/renewed)
	RequireMFA    bool // every member signs in with an emailed code
	// DataIntegrity: credentials issued from now on also carry an
	// embedded eddsa-rdfc-2022 proof in their JSON view.
	DataIntegrity bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// OrgInput is what a creator or editor supplies.
type OrgInput struct {
	Name        *string
	Slug        *string
	WebsiteURL  *string
	Description *string
	// EmailsEnabled switches recipient emails (credential issued, renewed,
	// resent) on or off.
	EmailsEnabled *bool
	// RequireMFA makes every member sign in with an emailed code (owners
	// only).
	RequireMFA *bool
	// DataIntegrity switches the embedded Data Integrity proof of new
	// credentials on or off (owners only).
	DataIntegrity *bool
}

// NewOrganization validates in and returns a pending_review organization on
// the free plan. The slug defaults to one derived from the name.
func NewOrganization(in OrgInput, now time.Time) (Organization, error) {
	o := Organization{
		ID:            NewID(),
		Status:        OrgPendingReview,
		Plan:          PlanFree,
		EmailsEnabled: true,
		CreatedAt:     Truncate(now),
		UpdatedAt:     Truncate(now),
	}
	var v Validator
	if in.Name == nil {
		v.Add("body.name", "name is required", nil)
	}
	if in.Slug == nil && in.Name != nil {
		s := DeriveSlug(*in.Name, "org")
		in.Slug = &s
	}
	o.apply(in, &v, true)
	return o, v.Err()
}

// Update applies the fields present in in. The slug never changes.
func (o *Organization) Update(in OrgInput, now time.Time) error {
	var v Validator
	if in.Slug != nil && *in.Slug != o.Slug {
		v.Add("body.slug", "the slug cannot change: it names the issuer's DID and public URLs", *in.Slug)
	}
	in.Slug = nil
	next := *o
	next.apply(in, &v, false)
	if err := v.Err(); err != nil {
		return err
	}
	next.UpdatedAt = Truncate(now)
	*o = next
	return nil
}

func (o *Organization) apply(in OrgInput, v *Validator, creating bool) {
	if in.Name != nil {
		name, ok := CleanText(*in.Name, 120, false)
		v.Check(ok && name != "", "body.name", "name must be 1 to 120 characters of text", *in.Name)
		o.Name = name
	}
	if in.Slug != nil && creating {
		v.Check(ValidSlug(*in.Slug), "body.slug", "slug must be 2 to 63 characters of a-z, 0-9 and single hyphens", *in.Slug)
		o.Slug = *in.Slug
	}
	if in.WebsiteURL != nil {
		u := strings.TrimSpace(*in.WebsiteURL)
		v.Check(u == "" || ValidHTTPURL(u), "body.websiteUrl", "websiteUrl must be an http(s) URL", *in.WebsiteURL)
		o.WebsiteURL = u
	}
	if in.Description != nil {
		d, ok := CleanText(*in.Description, 2000, true)
		v.Check(ok, "body.description", "description must be at most 2000 characters of text", nil)
		o.Description = d
	}
	if in.EmailsEnabled != nil {
		o.EmailsEnabled = *in.EmailsEnabled
	}
	if in.RequireMFA != nil {
		o.RequireMFA = *in.RequireMFA
	}
	if in.DataIntegrity != nil {
		o.DataIntegrity = *in.DataIntegrity
	}
}

func (o *Organization) transition(from []OrgStatus, to OrgStatus, reason string, now time.Time) error {
	for _, f := range from {
		if o.Status == f {
			o.Status, o.StatusReason, o.UpdatedAt = to, reason, Truncate(now)
			return nil
		}
	}
	return Errorf(CodeInvalidState, "an organization in %s cannot become %s", o.Status, to)
}

// Approve allows issuing: from pending_review, or to lift a suspension.
func (o *Organization) Approve(now time.Time) error {
	return o.transition([]OrgStatus{OrgPendingReview, OrgSuspended}, OrgApproved, "", now)
}

// Reject refuses a pending organization with a reason it is told.
func (o *Organization) Reject(reason string, now time.Time) error {
	reason, err := requireReason(reason)
	if err != nil {
		return err
	}
	return o.transition([]OrgStatus{OrgPendingReview}, OrgRejected, reason, now)
}

// Resubmit sends a rejected organization back to review.
func (o *Organization) Resubmit(now time.Time) error {
	return o.transition([]OrgStatus{OrgRejected}, OrgPendingReview, "", now)
}

// Suspend stops an approved organization from issuing; what it issued
// stays verifiable.
func (o *Organization) Suspend(reason string, now time.Time) error {
	reason, err := requireReason(reason)
	if err != nil {
		return err
	}
	return o.transition([]OrgStatus{OrgApproved}, OrgSuspended, reason, now)
}

// CanIssue returns ErrOrgNotApproved unless the organization is approved.
func (o Organization) CanIssue() error {
	if o.Status != OrgApproved {
		return Errorf(CodeOrgNotApproved, "the organization is %s; issuing needs approval", o.Status)
	}
	return nil
}

func requireReason(reason string) (string, error) {
	r, ok := CleanText(reason, 1000, true)
	if !ok || r == "" {
		return r, &ValidationError{Fields: []FieldError{{Location: "body.reason", Message: "a reason of 1 to 1000 characters is required", Value: reason}}}
	}
	return r, nil
}
