package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/credence-dev/credence/core/domain"
)

// Problem is an RFC 9457 problem details body with Credence's stable code.
type Problem struct {
	Type     string         `json:"type,omitempty" doc:"a URI naming the problem type"`
	Title    string         `json:"title" doc:"the HTTP status text"`
	Status   int            `json:"status"`
	Detail   string         `json:"detail,omitempty" doc:"what went wrong, for people"`
	Instance string         `json:"instance,omitempty"`
	Code     string         `json:"code" doc:"stable machine-readable error code, e.g. DUPLICATE_CREDENTIAL"`
	Errors   []FieldProblem `json:"errors,omitempty" doc:"per-field problems (VALIDATION_FAILED)"`

	ExistingCredentialID string     `json:"existingCredentialId,omitempty" doc:"DUPLICATE_CREDENTIAL: the credential the recipient holds"`
	Used                 *int       `json:"used,omitempty" doc:"QUOTA_EXCEEDED: recipients counted this month"`
	Limit                *int       `json:"limit,omitempty" doc:"QUOTA_EXCEEDED: the monthly limit"`
	ResetsAt             *time.Time `json:"resetsAt,omitempty" doc:"QUOTA_EXCEEDED: when the quota resets"`
	RetryAt              *time.Time `json:"retryAt,omitempty" doc:"RATE_LIMITED: when to try again (also in Retry-After)"`
}

// FieldProblem is one bad field.
type FieldProblem struct {
	Location string `json:"location,omitempty" doc:"where the bad value is, e.g. body.email"`
	Message  string `json:"message"`
	Value    any    `json:"value,omitempty"`
}

func (p *Problem) Error() string { return p.Detail }

// GetStatus returns the HTTP status.
func (p *Problem) GetStatus() int { return p.Status }

// ContentType makes problems application/problem+json.
func (p *Problem) ContentType(string) string { return "application/problem+json" }

// statusOf is the one table mapping codes to HTTP statuses.
var statusOf = map[domain.Code]int{
	domain.CodeValidation:          http.StatusUnprocessableEntity,
	domain.CodeUnauthenticated:     http.StatusUnauthorized,
	domain.CodeEmailNotVerified:    http.StatusForbidden,
	domain.CodeForbidden:           http.StatusForbidden,
	domain.CodePlanRequired:        http.StatusForbidden,
	domain.CodePlanLimitReached:    http.StatusForbidden,
	domain.CodeOrgNotApproved:      http.StatusForbidden,
	domain.CodeSigningKeysMissing:  http.StatusConflict,
	domain.CodeSigningKeysExist:    http.StatusConflict,
	domain.CodeDuplicateCredential: http.StatusConflict,
	domain.CodeBadgeInactive:       http.StatusConflict,
	domain.CodeBadgeLocked:         http.StatusConflict,
	domain.CodeQuotaExceeded:       http.StatusForbidden,
	domain.CodeNotFound:            http.StatusNotFound,
	domain.CodeCredentialPrivate:   http.StatusForbidden,
	domain.CodeEmailMismatch:       http.StatusForbidden,
	domain.CodeAlreadyClaimed:      http.StatusConflict,
	domain.CodeRateLimited:         http.StatusTooManyRequests,
	domain.CodeSlugTaken:           http.StatusConflict,
	domain.CodeInvalidState:        http.StatusConflict,
	domain.CodeNotClaimable:        http.StatusConflict,
	domain.CodeInvalidToken:        http.StatusBadRequest,
	domain.CodeInvalidPassword:     http.StatusUnprocessableEntity,
	domain.CodeConcurrentIssue:     http.StatusConflict,
	domain.CodeLastOwner:           http.StatusConflict,
	domain.CodeInvalidCSV:          http.StatusUnprocessableEntity,
	domain.CodeAccountLocked:       http.StatusLocked,
	domain.CodeMFAInvalid:          http.StatusUnauthorized,
	domain.CodeMFARequired:         http.StatusForbidden,
	domain.CodeWebhookURLRefused:   http.StatusUnprocessableEntity,
	domain.CodeWrongPassword:       http.StatusForbidden,
	domain.CodeUnavailable:         http.StatusServiceUnavailable,

	domain.CodeIdempotencyKeyReused:  http.StatusUnprocessableEntity,
	domain.CodeInvalidImage:          http.StatusUnprocessableEntity,
	domain.CodeInvalidCredentialFile: http.StatusUnprocessableEntity,
}

// codeOfStatus names the problems huma raises itself (bad JSON, schema
// validation, body too large …).
var codeOfStatus = map[int]string{
	http.StatusBadRequest:            "MALFORMED_REQUEST",
	http.StatusUnauthorized:          string(domain.CodeUnauthenticated),
	http.StatusForbidden:             string(domain.CodeForbidden),
	http.StatusNotFound:              string(domain.CodeNotFound),
	http.StatusMethodNotAllowed:      "METHOD_NOT_ALLOWED",
	http.StatusNotAcceptable:         "NOT_ACCEPTABLE",
	http.StatusRequestEntityTooLarge: "PAYLOAD_TOO_LARGE",
	http.StatusUnsupportedMediaType:  "UNSUPPORTED_MEDIA_TYPE",
	http.StatusUnprocessableEntity:   string(domain.CodeValidation),
	http.StatusTooManyRequests:       string(domain.CodeRateLimited),
	http.StatusInternalServerError:   "INTERNAL",
	http.StatusServiceUnavailable:    "UNAVAILABLE",
}

var installErrors sync.Once

// useProblems makes huma's own errors problems with a code. huma keeps the
// constructor in a package variable, so it is set once per process.
func useProblems() {
	installErrors.Do(func() {
		huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
			p := &Problem{Status: status, Title: http.StatusText(status), Detail: msg, Code: codeOfStatus[status]}
			if p.Code == "" {
				p.Code = "HTTP_" + strconv.Itoa(status)
			}
			for _, e := range errs {
				if e == nil {
					continue
				}
				var d huma.ErrorDetailer
				if errors.As(e, &d) {
					ed := d.ErrorDetail()
					p.Errors = append(p.Errors, FieldProblem{Location: ed.Location, Message: ed.Message, Value: ed.Value})
				} else {
					p.Errors = append(p.Errors, FieldProblem{Message: e.Error()})
				}
			}
			if status == http.StatusUnprocessableEntity && p.Detail == "" {
				p.Detail = "validation failed"
			}
			return p
		}
	})
}

// writeProblem is the one writer of problem bodies outside huma (the
// edge, the Idempotency-Key wrapper, admit, the documents, unknown
// routes): p as application/problem+json, encoded as huma encodes the
// problems of the operations (useProblems), so that a problem reads the
// same whoever answers.
func writeProblem(w http.ResponseWriter, p *Problem) {
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = huma.DefaultJSONFormat.Marshal(w, p)
}

// write writes err, mapped by the one table (from), with writeProblem and
// the headers the mapped error carries (Retry-After).
func (ps problems) write(ctx context.Context, w http.ResponseWriter, err error) {
	e := ps.from(ctx, err)
	if he, ok := errors.AsType[huma.HeadersError](e); ok {
		for k, vs := range he.GetHeaders() {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
	}
	writeProblem(w, asProblem(e))
}

// problems translates core errors at the HTTP edge.
type problems struct{ log *slog.Logger }

// from maps err to a problem; unknown errors are logged and become a 500
// that leaks nothing.
func (ps problems) from(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	code := domain.CodeOf(err)
	status, known := statusOf[code]
	if !known {
		ps.log.ErrorContext(ctx, "request failed", "err", err)
		return &Problem{Status: 500, Title: http.StatusText(500), Code: "INTERNAL", Detail: "an internal error occurred; it was logged"}
	}
	// The detail is the coded error's own message, without the wrapping
	// context added on the way up (which may name internals).
	detail := http.StatusText(status)
	if coded, ok := errors.AsType[interface {
		error
		ErrorCode() domain.Code
	}](err); ok {
		detail = coded.Error()
	}
	p = &Problem{Status: status, Title: http.StatusText(status), Code: string(code), Detail: detail}
	var ve *domain.ValidationError
	if errors.As(err, &ve) {
		p.Detail = "validation failed"
		for _, f := range ve.Fields {
			p.Errors = append(p.Errors, FieldProblem{Location: f.Location, Message: f.Message, Value: f.Value})
		}
	}
	var de *domain.DuplicateError
	if errors.As(err, &de) {
		p.ExistingCredentialID = string(de.Existing)
	}
	var qe *domain.QuotaError
	if errors.As(err, &qe) {
		used, limit, resets := qe.Used, qe.Limit, qe.ResetsAt
		p.Used, p.Limit, p.ResetsAt = &used, &limit, &resets
	}
	var rl interface{ RetryTime() time.Time }
	if errors.As(err, &rl) {
		at := rl.RetryTime().UTC()
		p.RetryAt = &at
		wait := max(1, int(time.Until(at).Round(time.Second)/time.Second))
		return huma.ErrorWithHeaders(p, http.Header{"Retry-After": {strconv.Itoa(wait)}})
	}
	return p
}
