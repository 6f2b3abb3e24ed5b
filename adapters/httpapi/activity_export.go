package httpapi

import (
	"context"
	"encoding/csv"
	"iter"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/credence-dev/credence/core/domain"
)

// activityCSVHeader names the columns of an activity export.
var activityCSVHeader = []string{"time", "id", "org_id", "action", "actor_type", "actor_id", "actor_email", "ip",
	"target_type", "target_id", "detail"}

// ActivityExportQuery filters an activity export: the list's filters
// without paging.
type ActivityExportQuery struct {
	Action string    `query:"action" maxLength:"64" doc:"an action (credential.issued) or a thing (credential)"`
	Actor  string    `query:"actor" maxLength:"64" doc:"a user or API key ID"`
	Target string    `query:"target" maxLength:"64" doc:"the ID of what was acted on"`
	Since  time.Time `query:"since" doc:"from this time on (RFC 3339)"`
	Until  time.Time `query:"until" doc:"before this time (RFC 3339)"`
}

func (q ActivityExportQuery) filter() ActivityQuery {
	return ActivityQuery{Action: q.Action, Actor: q.Actor, Target: q.Target, Since: q.Since, Until: q.Until}
}

// spreadsheetSafe defuses a cell a spreadsheet would run as a formula
// (OWASP's CSV injection): entries carry names and emails people typed.
func spreadsheetSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// streamActivityCSV answers entries as a CSV download named name. An error
// once rows went out aborts the connection, so that a client never takes a
// cut file for a whole one.
func (s *server) streamActivityCSV(name string, entries iter.Seq2[domain.Activity, error]) *huma.StreamResponse {
	return &huma.StreamResponse{Body: func(ctx huma.Context) {
		ctx.SetHeader("Content-Type", "text/csv; charset=utf-8")
		ctx.SetHeader("Content-Disposition", `attachment; filename="`+name+`"`)
		ctx.SetHeader("Cache-Control", "no-store")
		w := csv.NewWriter(ctx.BodyWriter())
		_ = w.Write(activityCSVHeader)
		for a, err := range entries {
			if err != nil {
				s.Log.ErrorContext(ctx.Context(), "activity export failed midway: connection aborted", "err", err)
				w.Flush()
				panic(http.ErrAbortHandler)
			}
			e := activityOf(a)
			row := []string{e.Time.UTC().Format(time.RFC3339Nano), e.ID, e.OrgID, e.Action, e.Actor.Type, e.Actor.ID,
				e.Actor.Email, e.IP, e.Target.Type, e.Target.ID, e.Detail}
			for i := range row {
				row[i] = spreadsheetSafe(row[i])
			}
			if err := w.Write(row); err != nil {
				return // the client went away
			}
		}
		w.Flush()
	}}
}

func (s *server) registerActivityExport(api huma.API) {
	csvOnly := func(o huma.Operation) huma.Operation {
		o.Responses = map[string]*huma.Response{"200": {Description: "CSV: " + strings.Join(activityCSVHeader, ","),
			Content: map[string]*huma.MediaType{"text/csv": {Schema: &huma.Schema{Type: "string"}}}}}
		return o
	}
	huma.Register(api, csvOnly(op(http.MethodGet, "/api/v1/orgs/{orgId}/activity/export", "export-activity",
		"The organization's activity log as a CSV download, newest first (owners and admins)", "Organizations")),
		func(ctx context.Context, in *struct {
			OrgPath
			ActivityExportQuery
		}) (*huma.StreamResponse, error) {
			entries, err := s.Orgs.ExportActivity(ctx, actorFrom(ctx), in.OrgID, in.filter().filter())
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return s.streamActivityCSV("activity-"+in.OrgID+"-"+s.Clock.Now().UTC().Format("20060102")+".csv", entries), nil
		})
	huma.Register(api, csvOnly(op(http.MethodGet, "/api/v1/admin/activity/export", "admin-export-activity",
		"The platform's activity log as a CSV download, sign-ins included, newest first", "Platform administration")),
		func(ctx context.Context, in *struct {
			ActivityExportQuery
			OrgID string `query:"orgId" maxLength:"36" doc:"one organization's entries"`
		}) (*huma.StreamResponse, error) {
			f := in.filter().filter()
			f.OrgID = in.OrgID
			entries, err := s.Orgs.ExportAllActivity(ctx, actorFrom(ctx), f)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return s.streamActivityCSV("activity-"+s.Clock.Now().UTC().Format("20060102")+".csv", entries), nil
		})
}
