package httpapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/credence-dev/credence/core/bulk"
	"github.com/credence-dev/credence/core/domain"
)

// maxUploadBytes bounds a bulk upload's multipart body, before any of it
// is parsed (see capBodies). It is well above bulk.MaxFileBytes so that a
// file somewhat too large gets INVALID_CSV saying its size, rather than a
// bare 413; of the file itself no more than bulk.MaxFileBytes+1 bytes are
// read into memory (multipart parsing keeps larger parts in a temporary
// file).
const maxUploadBytes = 4 << 20

// bulkForm is the multipart body of the bulk upload operations.
type bulkForm struct {
	File    huma.FormFile `form:"file" contentType:"text/csv,application/octet-stream" required:"true" doc:"the CSV file: a header row with name and email (any case, any order; other columns are ignored), UTF-8 with or without BOM, at most 1 MiB"`
	BadgeID string        `form:"badgeId" required:"true" maxLength:"36" doc:"the badge to issue"`
}

type bulkIn struct {
	OrgPath
	RawBody huma.MultipartFormFiles[bulkForm]
}

// validateIn is bulkIn with the choice of preview rows to answer with: a
// file of 25,000 rows previews in about 3 MB, while a client showing what
// needs fixing wants only the invalid and skipped ones.
type validateIn struct {
	OrgPath
	RawBody huma.MultipartFormFiles[bulkForm]
	State   []string `query:"state" enum:"new,renewal,active_time_bound,skipped,invalid" doc:"only rows in these states (comma-separated); the totals still count every row"`
	Limit   int      `query:"limit" minimum:"0" maximum:"100000" doc:"at most this many rows, in file order (0: all); rowsTruncated says when rows were left out"`
}

// wants reports whether the preview row in state belongs in the answer.
func (in *validateIn) wants(state domain.RowState) bool {
	if len(in.State) == 0 {
		return true
	}
	for _, s := range in.State {
		if s == string(state) {
			return true
		}
	}
	return false
}

// file reads the beginning of the uploaded file, as much as the core
// needs to judge it (the body is bounded by maxUploadBytes); the core
// judges its name, size and content.
func (in *bulkIn) file() (bulk.File, error) { return uploaded(in.RawBody.Data()) }

func (in *validateIn) file() (bulk.File, error) { return uploaded(in.RawBody.Data()) }

func uploaded(form *bulkForm) (bulk.File, error) {
	f := form.File
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, bulk.MaxFileBytes+1))
	if err != nil {
		return bulk.File{}, fmt.Errorf("read upload: %w", err)
	}
	return bulk.File{Name: f.Filename, Data: data, Size: f.Size}, nil
}

type previewRowWire struct {
	Row                  int    `json:"row" doc:"1 for the first row below the header"`
	Name                 string `json:"name"`
	Email                string `json:"email"`
	State                string `json:"state" enum:"new,renewal,active_time_bound,skipped,invalid"`
	Reason               string `json:"reason,omitempty" doc:"why the row is invalid or skipped"`
	ExistingCredentialID string `json:"existingCredentialId,omitempty" doc:"the recipient's current credential of the badge"`
}

type totalsWire struct {
	Rows            int `json:"rows"`
	Issuable        int `json:"issuable" doc:"new + renewal + activeTimeBound"`
	New             int `json:"new"`
	Renewal         int `json:"renewal"`
	ActiveTimeBound int `json:"activeTimeBound"`
	Skipped         int `json:"skipped"`
	Invalid         int `json:"invalid"`
}

type validationOut struct {
	Body struct {
		Rows          []previewRowWire `json:"rows"`
		RowsTruncated bool             `json:"rowsTruncated" doc:"true when limit left out rows in the asked states"`
		Totals        totalsWire       `json:"totals"`
	}
}

type jobWire struct {
	ID         string     `json:"id"`
	OrgID      string     `json:"orgId"`
	BadgeID    string     `json:"badgeId"`
	FileName   string     `json:"fileName"`
	Status     string     `json:"status" enum:"pending,processing,completed,failed"`
	Total      int        `json:"total" doc:"rows in the file"`
	Issued     int        `json:"issued"`
	Skipped    int        `json:"skipped"`
	Failed     int        `json:"failed" doc:"rows not issued, with their reasons in the rows list (invalid rows count here from the start)"`
	Processed  int        `json:"processed" doc:"issued + skipped + failed"`
	Test       bool       `json:"test"`
	Error      string     `json:"error,omitempty" doc:"why a failed job stopped"`
	CreatedAt  time.Time  `json:"createdAt"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
}

func jobWireOf(j domain.BulkJob) jobWire {
	return jobWire{ID: j.ID, OrgID: j.OrgID, BadgeID: j.BadgeID, FileName: j.FileName, Status: string(j.Status),
		Total: j.Total, Issued: j.Issued, Skipped: j.Skipped, Failed: j.Failed, Processed: j.Processed(), Test: j.Test,
		Error: j.Error, CreatedAt: j.CreatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt}
}

type rowWire struct {
	Row          int        `json:"row"`
	Name         string     `json:"name"`
	Email        string     `json:"email"`
	State        string     `json:"state" doc:"the preview state at submission"`
	Outcome      string     `json:"outcome" enum:"pending,issued,skipped,failed"`
	CredentialID string     `json:"credentialId,omitempty" doc:"the credential issued, or the one a skipped row's recipient holds"`
	Code         string     `json:"code,omitempty" doc:"error code of a failed or skipped row, e.g. QUOTA_EXCEEDED"`
	Reason       string     `json:"reason,omitempty"`
	ProcessedAt  *time.Time `json:"processedAt,omitempty"`
}

// JobPath names a bulk job.
type JobPath struct {
	OrgPath
	JobID string `path:"jobId" maxLength:"36"`
}

func (s *server) registerBulk(api huma.API) {
	tag := "Bulk issuance"
	validate := op(http.MethodPost, "/api/v1/orgs/{orgId}/bulk-issuances/validate", "validate-bulk-issuance",
		"Preview a CSV file row by row (every plan)", tag)
	validate.MaxBodyBytes = maxUploadBytes
	huma.Register(api, validate, func(ctx context.Context, in *validateIn) (*validationOut, error) {
		f, err := in.file()
		if err != nil {
			return nil, s.from(ctx, err)
		}
		v, err := s.Bulk.Validate(ctx, actorFrom(ctx), in.OrgID, in.RawBody.Data().BadgeID, f)
		if err != nil {
			return nil, s.from(ctx, err)
		}
		out := &validationOut{}
		out.Body.Rows = make([]previewRowWire, 0, len(v.Rows))
		for _, r := range v.Rows {
			if !in.wants(r.State) {
				continue
			}
			if in.Limit > 0 && len(out.Body.Rows) == in.Limit {
				out.Body.RowsTruncated = true
				break
			}
			out.Body.Rows = append(out.Body.Rows, previewRowWire{Row: r.Row, Name: r.Name, Email: r.Email, State: string(r.State),
				Reason: r.Reason, ExistingCredentialID: string(r.ExistingID)})
		}
		t := v.Totals
		out.Body.Totals = totalsWire{Rows: t.Rows, Issuable: t.Issuable(), New: t.New, Renewal: t.Renewal,
			ActiveTimeBound: t.ActiveTimeBound, Skipped: t.Skipped, Invalid: t.Invalid}
		return out, nil
	})
	submit := withStatus(op(http.MethodPost, "/api/v1/orgs/{orgId}/bulk-issuances", "submit-bulk-issuance",
		"Submit a CSV file for issuance in the background (Professional and Enterprise)", tag), http.StatusAccepted)
	submit.MaxBodyBytes = maxUploadBytes
	huma.Register(api, submit, func(ctx context.Context, in *bulkIn) (*struct {
		Location string `header:"Location"`
		Body     jobWire
	}, error) {
		f, err := in.file()
		if err != nil {
			return nil, s.from(ctx, err)
		}
		j, err := s.Bulk.Submit(ctx, actorFrom(ctx), in.OrgID, in.RawBody.Data().BadgeID, f)
		if err != nil {
			return nil, s.from(ctx, err)
		}
		return &struct {
			Location string `header:"Location"`
			Body     jobWire
		}{"/api/v1/orgs/" + j.OrgID + "/bulk-issuances/" + j.ID, jobWireOf(j)}, nil
	})
	huma.Register(api, op(http.MethodGet, "/api/v1/orgs/{orgId}/bulk-issuances", "list-bulk-issuances", "The organization's bulk jobs, newest first", tag),
		func(ctx context.Context, in *struct {
			OrgPath
			PageParams
		}) (*listOut[jobWire], error) {
			js, err := s.Bulk.List(ctx, actorFrom(ctx), in.OrgID, in.page())
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &listOut[jobWire]{Body: listOf(js, in.Limit, jobWireOf, func(j domain.BulkJob) string { return j.ID })}, nil
		})
	huma.Register(api, op(http.MethodGet, "/api/v1/orgs/{orgId}/bulk-issuances/{jobId}", "get-bulk-issuance", "A bulk job with its live counts", tag),
		func(ctx context.Context, in *JobPath) (*struct{ Body jobWire }, error) {
			j, err := s.Bulk.Get(ctx, actorFrom(ctx), in.OrgID, in.JobID)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &struct{ Body jobWire }{jobWireOf(j)}, nil
		})
	huma.Register(api, op(http.MethodGet, "/api/v1/orgs/{orgId}/bulk-issuances/{jobId}/rows", "list-bulk-issuance-rows", "A bulk job's rows in file order, with their outcomes", tag),
		func(ctx context.Context, in *struct {
			JobPath
			Outcome string `query:"outcome" enum:"pending,issued,skipped,failed," doc:"only rows with this outcome"`
			Limit   int    `query:"limit" minimum:"1" maximum:"100" default:"50" doc:"page size"`
			Cursor  string `query:"cursor" maxLength:"10" pattern:"^[0-9]*$" doc:"nextCursor of the previous page"`
		}) (*listOut[rowWire], error) {
			after, _ := strconv.Atoi(in.Cursor)
			rows, err := s.Bulk.Rows(ctx, actorFrom(ctx), in.OrgID, in.JobID, after, in.Limit, domain.RowOutcome(in.Outcome))
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &listOut[rowWire]{Body: listOf(rows, in.Limit, func(r domain.BulkRow) rowWire {
				return rowWire{Row: r.Row, Name: r.Name, Email: r.Email, State: string(r.State), Outcome: string(r.Outcome),
					CredentialID: string(r.CredentialID), Code: r.Code, Reason: r.Reason, ProcessedAt: r.ProcessedAt}
			}, func(r domain.BulkRow) string { return strconv.Itoa(r.Row) })}, nil
		})
}
