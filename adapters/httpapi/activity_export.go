package httpapi

import (
	"context"
	"encoding/csv"
	"iter"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/credence-dev/credence/core/domain"
)

// activityCSVHeader names the columns of an activity export.
var activityCSVHeader = []string{"time", "id", "org_id", "action", "actor_type", "actor_id", "actor_email", "ip",
	"target_type", "target_id", "detail"}

// spreadsheetSafe defuses text a spreadsheet would run as a formula
// (OWASP's CSV injection): entries carry names and emails people typed. A
// formula may start a cell, or any part of it a spreadsheet splits off as
// a cell of its own (at a semicolon or tab, in locales that separate with
// them), after blanks: each such start gets a quote before it, the same
// for fullwidth signs.
func spreadsheetSafe(s string) string {
	var b strings.Builder
	start := true // at the start of what a spreadsheet may read as a cell
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case start && strings.ContainsRune("=+-@＝＋－＠", r):
			b.WriteByte('\'')
			start = false
		case r == ';' || r == ',' || r == '\t' || r == '\r' || r == '\n':
			start = true
		case start && unicode.IsSpace(r):
		default:
			start = false
		}
		b.WriteString(s[:size]) // the bytes as they were, valid UTF-8 or not
		s = s[size:]
	}
	return b.String()
}

// exportWriteWindow is how long an export may take to send each batch of
// exportFlushRows rows: the server's write timeout (60 s) bounds a whole
// response, which a year's log to a slow client would outlast.
const (
	exportWriteWindow = time.Minute
	exportFlushRows   = 1000
)

// streamActivityCSV answers entries as a CSV download named name. The
// first entry is read before anything is sent, so a failing store gets a
// problem answer; a failure once rows went out aborts the connection, so
// that a client never takes a cut file for a whole one.
func (s *server) streamActivityCSV(ctx context.Context, name string, entries iter.Seq2[domain.Activity, error]) (*huma.StreamResponse, error) {
	next, stop := iter.Pull2(entries)
	first, err, more := next()
	if err != nil {
		stop()
		return nil, s.from(ctx, err)
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		defer stop()
		hctx.SetHeader("Content-Type", "text/csv; charset=utf-8")
		hctx.SetHeader("Content-Disposition", `attachment; filename="`+name+`"`)
		hctx.SetHeader("Cache-Control", "no-store")
		extend := func() {}
		if rw, ok := hctx.BodyWriter().(http.ResponseWriter); ok {
			rc := http.NewResponseController(rw)
			extend = func() { _ = rc.SetWriteDeadline(time.Now().Add(exportWriteWindow)) } // unsupported: the server's timeout stands
		}
		w := csv.NewWriter(hctx.BodyWriter())
		_ = w.Write(activityCSVHeader)
		for rows := 0; more; rows++ {
			if rows%exportFlushRows == 0 {
				w.Flush()
				extend()
			}
			e := activityOf(first)
			row := []string{e.Time.UTC().Format(time.RFC3339Nano), e.ID, e.OrgID, e.Action, e.Actor.Type, e.Actor.ID,
				e.Actor.Email, e.IP, e.Target.Type, e.Target.ID, e.Detail}
			for i := range row {
				row[i] = spreadsheetSafe(row[i])
			}
			if err := w.Write(row); err != nil {
				return // the client went away
			}
			if first, err, more = next(); err != nil {
				s.Log.ErrorContext(hctx.Context(), "activity export failed midway: connection aborted", "err", err)
				w.Flush()
				panic(http.ErrAbortHandler)
			}
		}
		w.Flush()
	}}, nil
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
			ActivityFilters
		}) (*huma.StreamResponse, error) {
			entries, err := s.Orgs.ExportActivity(ctx, actorFrom(ctx), in.OrgID, in.filter())
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return s.streamActivityCSV(ctx, "activity-"+in.OrgID+"-"+s.Clock.Now().UTC().Format("20060102")+".csv", entries)
		})
	huma.Register(api, csvOnly(op(http.MethodGet, "/api/v1/admin/activity/export", "admin-export-activity",
		"The platform's activity log as a CSV download, sign-ins included, newest first", "Platform administration")),
		func(ctx context.Context, in *struct {
			ActivityFilters
			OrgID string `query:"orgId" maxLength:"36" doc:"one organization's entries"`
		}) (*huma.StreamResponse, error) {
			f := in.filter()
			f.OrgID = in.OrgID
			entries, err := s.Orgs.ExportAllActivity(ctx, actorFrom(ctx), f)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return s.streamActivityCSV(ctx, "activity-"+s.Clock.Now().UTC().Format("20060102")+".csv", entries)
		})
}
