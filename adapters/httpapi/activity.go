package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// activityWire is one entry of the activity log.
type activityWire struct {
	ID    string `json:"id"`
	OrgID string `json:"orgId,omitempty" doc:"absent for account events outside any organization"`
	Actor struct {
		Type  string `json:"type" enum:"user,api_key,anonymous" doc:"anonymous: a sign-in tried with an unregistered email"`
		ID    string `json:"id,omitempty"`
		Email string `json:"email,omitempty" doc:"the email a sign-in was tried with, when no user acted"`
	} `json:"actor"`
	IP     string `json:"ip,omitempty" doc:"the client address"`
	Action string `json:"action" example:"credential.issued"`
	Target struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"target"`
	Detail string    `json:"detail,omitempty"`
	Time   time.Time `json:"time"`
}

func activityOf(a domain.Activity) activityWire {
	var w activityWire
	w.ID, w.OrgID, w.IP, w.Action, w.Detail, w.Time = a.ID, a.OrgID, a.IP, string(a.Action), a.Detail, a.CreatedAt
	switch {
	case a.ActorKey != "":
		w.Actor.Type, w.Actor.ID = "api_key", a.ActorKey
	case a.ActorUser != "":
		w.Actor.Type, w.Actor.ID = "user", a.ActorUser
	default:
		w.Actor.Type, w.Actor.Email = "anonymous", a.ActorEmail
	}
	w.Target.Type, w.Target.ID = a.TargetType, a.Target
	return w
}

// ActivityFilters select activity log entries, for a page or an export.
type ActivityFilters struct {
	Action string    `query:"action" maxLength:"64" doc:"an action (credential.issued) or a thing (credential)"`
	Actor  string    `query:"actor" maxLength:"64" doc:"a user or API key ID"`
	Target string    `query:"target" maxLength:"64" doc:"the ID of what was acted on"`
	Since  time.Time `query:"since" doc:"from this time on (RFC 3339)"`
	Until  time.Time `query:"until" doc:"before this time (RFC 3339)"`
}

func (q ActivityFilters) filter() ports.ActivityFilter {
	f := ports.ActivityFilter{Action: q.Action, Actor: q.Actor, Target: q.Target}
	if !q.Since.IsZero() {
		f.Since = &q.Since
	}
	if !q.Until.IsZero() {
		f.Until = &q.Until
	}
	return f
}

// ActivityQuery filters the activity log, a page at a time.
type ActivityQuery struct {
	PageParams
	ActivityFilters
}

func (q ActivityQuery) filter() ports.ActivityFilter {
	f := q.ActivityFilters.filter()
	f.Page = q.page()
	return f
}

func activityCursor(a domain.Activity) string { return a.ID }

// registerActivity registers the activity logs, an organization's and the
// platform's, a page at a time and as CSV exports (activity_export.go).
func (s *server) registerActivity(api huma.API) {
	huma.Register(api, op(http.MethodGet, "/api/v1/orgs/{orgId}/activity", "list-activity",
		"The organization's activity log, newest first (owners and admins)", "Organizations"),
		func(ctx context.Context, in *struct {
			OrgPath
			ActivityQuery
		}) (*listOut[activityWire], error) {
			as, err := s.Orgs.Activity(ctx, actorFrom(ctx), in.OrgID, in.filter())
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &listOut[activityWire]{Body: listOf(as, in.Limit, activityOf, activityCursor)}, nil
		})
	huma.Register(api, op(http.MethodGet, "/api/v1/admin/activity", "admin-list-activity",
		"The platform's activity log, sign-ins included, newest first", "Platform administration"),
		func(ctx context.Context, in *struct {
			ActivityQuery
			OrgID string `query:"orgId" maxLength:"36" doc:"one organization's entries"`
		}) (*listOut[activityWire], error) {
			f := in.filter()
			f.OrgID = in.OrgID
			as, err := s.Orgs.AllActivity(ctx, actorFrom(ctx), f)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &listOut[activityWire]{Body: listOf(as, in.Limit, activityOf, activityCursor)}, nil
		})
	s.registerActivityExport(api)
}
