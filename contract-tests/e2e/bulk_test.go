package e2e

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Bulk issuance scenarios: validation, submission, the job's rows and
// credentials, bad files, and resending a credential's mail.

// bulkJob is the wire form of a bulk job.
type bulkJob struct {
	ID         string     `json:"id"`
	OrgID      string     `json:"orgId"`
	BadgeID    string     `json:"badgeId"`
	FileName   string     `json:"fileName"`
	Status     string     `json:"status"`
	Total      int        `json:"total"`
	Issued     int        `json:"issued"`
	Skipped    int        `json:"skipped"`
	Failed     int        `json:"failed"`
	Processed  int        `json:"processed"`
	Test       bool       `json:"test"`
	Error      string     `json:"error"`
	CreatedAt  time.Time  `json:"createdAt"`
	StartedAt  *time.Time `json:"startedAt"`
	FinishedAt *time.Time `json:"finishedAt"`
}

func (j bulkJob) done() bool { return j.Status == "completed" || j.Status == "failed" }

func (j bulkJob) String() string {
	b, _ := json.Marshal(j)
	return string(b)
}

// previewRow is one row of a validation.
type previewRow struct {
	Row                  int    `json:"row"`
	Name                 string `json:"name"`
	Email                string `json:"email"`
	State                string `json:"state"`
	Reason               string `json:"reason"`
	ExistingCredentialID string `json:"existingCredentialId"`
}

type previewTotals struct {
	Rows            int `json:"rows"`
	Issuable        int `json:"issuable"`
	New             int `json:"new"`
	Renewal         int `json:"renewal"`
	ActiveTimeBound int `json:"activeTimeBound"`
	Skipped         int `json:"skipped"`
	Invalid         int `json:"invalid"`
}

// bulkValidation is the answer of …/bulk-issuances/validate.
type bulkValidation struct {
	Rows          []previewRow  `json:"rows"`
	RowsTruncated bool          `json:"rowsTruncated"`
	Totals        previewTotals `json:"totals"`
}

// bulkRow is one row of a job with its outcome.
type bulkRow struct {
	Row          int        `json:"row"`
	Name         string     `json:"name"`
	Email        string     `json:"email"`
	State        string     `json:"state"`
	Outcome      string     `json:"outcome"`
	CredentialID string     `json:"credentialId"`
	Code         string     `json:"code"`
	Reason       string     `json:"reason"`
	ProcessedAt  *time.Time `json:"processedAt"`
}

// Content types a browser gives the uploaded file part.
const (
	csvType  = "text/csv"
	xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// recipient is a CSV row: name, email.
type recipient [2]string

// csvOf is a bulk file: the header row and one row per recipient, quoted
// where CSV needs it.
func csvOf(t *testing.T, rows ...recipient) []byte {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"name", "email"})
	for _, r := range rows {
		_ = w.Write(r[:])
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// bulkForm is the multipart body of the bulk endpoints: the file part
// (named fileName, of content type partType) and the badgeId field.
func bulkForm(t *testing.T, badgeID, fileName, partType string, data []byte) formBody {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, fileName))
	h.Set("Content-Type", partType)
	part, err := w.CreatePart(h)
	if err == nil {
		_, err = part.Write(data)
	}
	if err == nil {
		err = w.WriteField("badgeId", badgeID)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return formBody{contentType: w.FormDataContentType(), data: buf.Bytes()}
}

func bulkPath(orgID string) string { return "/api/v1/orgs/" + orgID + "/bulk-issuances" }

// validateBulk previews a CSV file and requires 200.
func validateBulk(c *client, orgID, badgeID string, data []byte) bulkValidation {
	c.t.Helper()
	var v bulkValidation
	c.expect(http.StatusOK, http.MethodPost, bulkPath(orgID)+"/validate", bulkForm(c.t, badgeID, "recipients.csv", csvType, data), &v)
	return v
}

// submitBulk submits a CSV file and requires 202 with a pending job.
func submitBulk(c *client, orgID, badgeID string, data []byte) bulkJob {
	c.t.Helper()
	var j bulkJob
	r := c.expect(http.StatusAccepted, http.MethodPost, bulkPath(orgID), bulkForm(c.t, badgeID, "recipients.csv", csvType, data), &j)
	if j.ID == "" || j.Status != "pending" || j.OrgID != orgID || j.BadgeID != badgeID {
		c.t.Fatalf("submitted job: %s", r)
	}
	if loc := r.Header.Get("Location"); loc != bulkPath(orgID)+"/"+j.ID {
		c.t.Errorf("Location %q, want %s", loc, bulkPath(orgID)+"/"+j.ID)
	}
	return j
}

func getJob(c *client, orgID, jobID string) bulkJob {
	c.t.Helper()
	var j bulkJob
	c.expect(http.StatusOK, http.MethodGet, bulkPath(orgID)+"/"+jobID, nil, &j)
	return j
}

// awaitJob polls a job until it is completed or failed. Past timeout it
// fails with the job and what logs says (the tails of the logs).
func awaitJob(c *client, orgID, jobID string, timeout time.Duration, logs func() string) bulkJob {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		j := getJob(c, orgID, jobID)
		if j.done() {
			return j
		}
		if time.Now().After(deadline) {
			extra := ""
			if logs != nil {
				extra = logs()
			}
			c.t.Fatalf("bulk job not done within %s: %s\n%s", timeout, j, extra)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// jobRows returns every row of a job, following cursors.
func jobRows(c *client, orgID, jobID string) []bulkRow {
	c.t.Helper()
	var out []bulkRow
	cursor := ""
	for {
		var page struct {
			Items      []bulkRow `json:"items"`
			NextCursor string    `json:"nextCursor"`
		}
		path := bulkPath(orgID) + "/" + jobID + "/rows?limit=100"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		c.expect(http.StatusOK, http.MethodGet, path, nil, &page)
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
}

// listJobs returns the organization's jobs, newest first.
func listJobs(c *client, orgID string) []bulkJob {
	c.t.Helper()
	var out []bulkJob
	cursor := ""
	for {
		var page struct {
			Items      []bulkJob `json:"items"`
			NextCursor string    `json:"nextCursor"`
		}
		path := bulkPath(orgID) + "?limit=100"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		c.expect(http.StatusOK, http.MethodGet, path, nil, &page)
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
}

func jobIDs(js []bulkJob) []string {
	ids := make([]string, len(js))
	for i, j := range js {
		ids[i] = j.ID
	}
	return ids
}

// verifyLinkRE finds the verification link of a credential mail (an
// issued, renewed or resent mail names its credential there last).
var verifyLinkRE = regexp.MustCompile(`/verify/(CRD-[A-Z0-9]{8})`)

// credentialMails returns the credential mails written so far by the
// credential their link names.
func (s *server) credentialMails(t *testing.T) map[string][]mail {
	t.Helper()
	out := map[string][]mail{}
	for _, m := range s.allMails(t) {
		if all := verifyLinkRE.FindAllStringSubmatch(m.Body, -1); len(all) > 0 {
			id := all[len(all)-1][1]
			out[id] = append(out[id], m)
		}
	}
	return out
}

// awaitCredentialMails waits until every credential of ids has a mail,
// then returns the credential mails.
func (s *server) awaitCredentialMails(t *testing.T, ids []string, timeout time.Duration) map[string][]mail {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := s.credentialMails(t)
		var missing []string
		for _, id := range ids {
			if len(got[id]) == 0 {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			return got
		}
		if time.Now().After(deadline) {
			if len(missing) > 10 {
				missing = append(missing[:10], fmt.Sprintf("and %d more", len(missing)-10))
			}
			t.Fatalf("within %s, %d of %d credentials got no mail: %v", timeout, len(missing), len(ids), missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// testBulkIssuance runs on a server whose plans allow 6 recipients a
// month: a file previews every row state on the free plan, is refused
// there, and once on Professional issues what it previewed, row by row.
func testBulkIssuance(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	c := e.as(t, owner.Token)
	b := createBadge(c, o.ID, 0)   // never expires
	tb := createBadge(c, o.ID, 30) // time-bound

	// Three recipients are counted this month before the files come.
	renewee, holder, timed := uniqueEmail("renewee"), uniqueEmail("holder"), uniqueEmail("timed")
	revoked := issue(c, o.ID, b.ID, "Rita Renewal", renewee)
	revoke(c, o.ID, revoked.ID, "wrong name")
	held := issue(c, o.ID, b.ID, "Hal Holder", holder)
	active := issue(c, o.ID, tb.ID, "Tim Timed", timed)

	fresh := []string{uniqueEmail("fresh1"), uniqueEmail("fresh2"), uniqueEmail("fresh3"), uniqueEmail("fresh4"), uniqueEmail("fresh5")}
	noName, formula := uniqueEmail("noname"), uniqueEmail("formula")
	file := csvOf(t,
		recipient{"Fay Fresh", fresh[0]},                        // 1 new
		recipient{"Rita Renewal", strings.ToUpper(renewee)},     // 2 renewal of the revoked one
		recipient{"Hal Holder", holder},                         // 3 skipped: holds a non-expiring one
		recipient{"Bea Bad", "not-an-email"},                    // 4 invalid
		recipient{"", noName},                                   // 5 invalid: no name
		recipient{"Fay Again", " " + strings.ToUpper(fresh[0])}, // 6 invalid: repeats row 1
		recipient{"=cmd|' /C calc'!A0", formula},                // 7 invalid: a formula
		recipient{"Finn Fresh", fresh[1]},                       // 8 new
		recipient{"Flo Fresh", fresh[2]},                        // 9 new: the 6th recipient of the month
		recipient{"Fritz Over", fresh[3]},                       // 10 invalid: over the quota
		recipient{"Frida Over", fresh[4]},                       // 11 invalid: over the quota
	)
	type want struct{ state, reason, existing string }
	wants := map[int]want{
		1: {"new", "", ""}, 2: {"renewal", "", revoked.ID}, 3: {"skipped", held.ID, held.ID},
		4: {"invalid", "is not a valid address", ""}, 5: {"invalid", "name is missing", ""},
		6: {"invalid", "email repeats row 1", ""}, 7: {"invalid", "spreadsheet formulas are not accepted", ""},
		8: {"new", "", ""}, 9: {"new", "", ""},
		10: {"invalid", "monthly recipient quota reached (used 6 of 6", ""}, 11: {"invalid", "monthly recipient quota reached (used 6 of 6", ""},
	}

	// Validation works on the free plan.
	v := validateBulk(c, o.ID, b.ID, file)
	wantTotals := previewTotals{Rows: 11, Issuable: 4, New: 3, Renewal: 1, ActiveTimeBound: 0, Skipped: 1, Invalid: 6}
	if v.Totals != wantTotals {
		t.Errorf("totals %+v, want %+v", v.Totals, wantTotals)
	}
	if len(v.Rows) != 11 {
		t.Fatalf("validation has %d rows, want 11: %+v", len(v.Rows), v.Rows)
	}
	for i, r := range v.Rows {
		w := wants[i+1]
		if r.Row != i+1 || r.State != w.state || !strings.Contains(r.Reason, w.reason) || r.ExistingCredentialID != w.existing {
			t.Errorf("preview row %d: %+v, want state %q, reason with %q, existing %q", i+1, r, w.state, w.reason, w.existing)
		}
		if (w.state == "invalid") != (r.Reason != "") && w.state != "skipped" {
			t.Errorf("preview row %d: %+v: an invalid row needs a reason, another none", i+1, r)
		}
	}
	if v.Rows[1].Email != renewee || v.Rows[5].Email != fresh[0] {
		t.Errorf("emails not normalized: %q, %q", v.Rows[1].Email, v.Rows[5].Email)
	}
	if v.RowsTruncated {
		t.Errorf("the whole preview says rowsTruncated")
	}
	// Only the rows to fix, a few at a time; the totals still count all.
	for _, tc := range []struct {
		query     string
		rows      []int
		truncated bool
	}{
		{"?state=invalid,skipped&limit=3", []int{3, 4, 5}, true},
		{"?state=invalid,skipped&limit=7", []int{3, 4, 5, 6, 7, 10, 11}, false},
		{"?state=renewal", []int{2}, false},
		{"?limit=2", []int{1, 2}, true},
	} {
		var part bulkValidation
		c.expect(http.StatusOK, http.MethodPost, bulkPath(o.ID)+"/validate"+tc.query, bulkForm(t, b.ID, "recipients.csv", csvType, file), &part)
		var rows []int
		for _, r := range part.Rows {
			rows = append(rows, r.Row)
		}
		if !slices.Equal(rows, tc.rows) || part.RowsTruncated != tc.truncated || part.Totals != wantTotals {
			t.Errorf("validate%s: rows %v truncated %v totals %+v, want rows %v truncated %v and the totals of the file",
				tc.query, rows, part.RowsTruncated, part.Totals, tc.rows, tc.truncated)
		}
	}
	for _, q := range []string{"?state=bogus", "?limit=-1"} {
		c.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, bulkPath(o.ID)+"/validate"+q,
			bulkForm(t, b.ID, "recipients.csv", csvType, file))
	}
	tfile := csvOf(t, recipient{"Tim Timed", timed}, recipient{"Fay Fresh", fresh[0]})
	tv := validateBulk(c, o.ID, tb.ID, tfile)
	if len(tv.Rows) != 2 || tv.Rows[0].State != "active_time_bound" || tv.Rows[0].ExistingCredentialID != active.ID || tv.Rows[1].State != "new" ||
		tv.Totals != (previewTotals{Rows: 2, Issuable: 2, New: 1, ActiveTimeBound: 1}) {
		t.Errorf("time-bound badge preview: %+v", tv)
	}

	// Issuing needs Professional.
	p := c.checkProblem(c.do(http.MethodPost, bulkPath(o.ID), bulkForm(t, b.ID, "recipients.csv", csvType, file)), http.StatusForbidden, "PLAN_REQUIRED")
	if !strings.Contains(p.Detail, "Professional") {
		t.Errorf("PLAN_REQUIRED detail %q does not name the plan", p.Detail)
	}
	if js := listJobs(c, o.ID); len(js) != 0 {
		t.Errorf("a refused submission left jobs: %v", jobIDs(js))
	}
	e.setPlan(t, o.ID, "professional")

	job := submitBulk(c, o.ID, b.ID, file)
	if job.Total != 11 {
		t.Errorf("submitted job: %s, want total 11", job)
	}
	done := awaitJob(c, o.ID, job.ID, time.Minute, nil)
	if done.Status != "completed" || done.Total != 11 || done.Issued != 4 || done.Skipped != 1 || done.Failed != 6 ||
		done.Processed != 11 || done.Issued+done.Skipped+done.Failed != done.Total || done.FinishedAt == nil || done.StartedAt == nil {
		t.Errorf("finished job: %s, want completed with 11 = 4 issued + 1 skipped + 6 failed", done)
	}

	rows := jobRows(c, o.ID, job.ID)
	if len(rows) != 11 {
		t.Fatalf("job has %d rows, want 11", len(rows))
	}
	issuedTo := map[int]string{} // row → credential ID
	for i, r := range rows {
		w := wants[i+1]
		var outcome, code string
		switch w.state {
		case "new", "renewal":
			outcome = "issued"
		case "skipped":
			outcome, code = "skipped", "DUPLICATE_CREDENTIAL"
		default:
			outcome, code = "failed", "INVALID_ROW"
			if i+1 >= 10 {
				code = "QUOTA_EXCEEDED"
			}
		}
		if r.Row != i+1 || r.Outcome != outcome || r.Code != code || r.State != w.state || r.ProcessedAt == nil {
			t.Errorf("job row %d: %+v, want outcome %s, code %q, state %s", i+1, r, outcome, code, w.state)
		}
		switch outcome {
		case "issued":
			if !credentialIDRE.MatchString(r.CredentialID) || r.Reason != "" {
				t.Errorf("issued row %d: %+v, want a credential ID and no reason", i+1, r)
			}
			issuedTo[r.Row] = r.CredentialID
		case "skipped":
			if r.CredentialID != held.ID || !strings.Contains(r.Reason, held.ID) {
				t.Errorf("skipped row %d: %+v, want it to name %s", i+1, r, held.ID)
			}
		default:
			if r.CredentialID != "" || !strings.Contains(r.Reason, w.reason) {
				t.Errorf("failed row %d: %+v, want reason with %q and no credential", i+1, r, w.reason)
			}
		}
	}
	var onlyIssued struct {
		Items []bulkRow `json:"items"`
	}
	c.expect(http.StatusOK, http.MethodGet, bulkPath(o.ID)+"/"+job.ID+"/rows?outcome=issued", nil, &onlyIssued)
	if len(onlyIssued.Items) != 4 {
		t.Errorf("?outcome=issued lists %d rows, want 4", len(onlyIssued.Items))
	}

	anon := e.anon(t)
	for row, id := range issuedTo {
		cr := getCredential(c, o.ID, id)
		if cr.BadgeID != b.ID || cr.Recipient.Email != rows[row-1].Email || cr.Status != "pending" || cr.Test {
			t.Errorf("credential of row %d: %+v", row, cr)
		}
		requireAllChecksOK(t, verifyByID(anon, id), "pending")
	}
	renewed := getCredential(c, o.ID, issuedTo[2])
	if renewed.SupersedesCredentialID != revoked.ID {
		t.Errorf("the renewal row's credential supersedes %q, want %s", renewed.SupersedesCredentialID, revoked.ID)
	}
	if old := getCredential(c, o.ID, revoked.ID); old.Status != "revoked" || old.RevocationReason != "wrong name" || old.SupersededByCredentialID != renewed.ID {
		t.Errorf("the revoked credential after the renewal row: status %q reason %q supersededBy %q", old.Status, old.RevocationReason, old.SupersededByCredentialID)
	}
	if got := getCredential(c, o.ID, held.ID); got.Status != "pending" || got.RevokedAt != nil {
		t.Errorf("the skipped recipient's credential changed: %+v", got)
	}
	if got := listCredentials(c, o.ID, "?email="+holder); len(got) != 1 {
		t.Errorf("the skipped recipient holds %d credentials, want 1", len(got))
	}

	// The time-bound badge: the active credential is revoked and replaced.
	tjob := submitBulk(c, o.ID, tb.ID, tfile)
	tdone := awaitJob(c, o.ID, tjob.ID, time.Minute, nil)
	if tdone.Status != "completed" || tdone.Issued != 2 || tdone.Skipped != 0 || tdone.Failed != 0 || tdone.Total != 2 {
		t.Errorf("time-bound job: %s, want completed with 2 issued", tdone)
	}
	trows := jobRows(c, o.ID, tjob.ID)
	if len(trows) != 2 || trows[0].Outcome != "issued" || trows[1].Outcome != "issued" {
		t.Fatalf("time-bound job rows: %+v", trows)
	}
	replacement := getCredential(c, o.ID, trows[0].CredentialID)
	if replacement.SupersedesCredentialID != active.ID || replacement.ExpiresAt == nil {
		t.Errorf("the active_time_bound row's credential: supersedes %q expires %v, want %s and an expiry", replacement.SupersedesCredentialID, replacement.ExpiresAt, active.ID)
	}
	if old := getCredential(c, o.ID, active.ID); old.Status != "revoked" || old.RevocationReason != "superseded by renewal" || old.SupersededByCredentialID != replacement.ID {
		t.Errorf("the replaced credential: status %q reason %q supersededBy %q", old.Status, old.RevocationReason, old.SupersededByCredentialID)
	}
	if v := verifyByID(anon, active.ID); v.Result != "revoked" {
		t.Errorf("verify the replaced credential: %q, want revoked", v.Result)
	}
	issuedTo[100] = trows[0].CredentialID
	issuedTo[101] = trows[1].CredentialID
	requireAllChecksOK(t, verifyByID(anon, trows[0].CredentialID), "pending")
	requireAllChecksOK(t, verifyByID(anon, trows[1].CredentialID), "pending")

	// One mail per issued credential; none for skipped or failed rows.
	var ids []string
	for _, id := range issuedTo {
		ids = append(ids, id)
	}
	byCredential := e.awaitCredentialMails(t, ids, 30*time.Second)
	for row, id := range issuedTo {
		if n := len(byCredential[id]); n != 1 {
			t.Errorf("credential %s (row %d) has %d mails, want 1", id, row, n)
		}
	}
	if n := len(byCredential[held.ID]); n != 1 {
		t.Errorf("the skipped recipient's credential %s has %d mails, want its first one only", held.ID, n)
	}
	for _, addr := range []string{noName, formula, fresh[3], fresh[4]} {
		if ms := e.mails(t, addr); len(ms) != 0 {
			t.Errorf("failed row's recipient %s got %d mails", addr, len(ms))
		}
	}
	if ms := e.mails(t, fresh[0]); len(ms) != 2 { // one per badge; none for the repeated row
		t.Errorf("%s got %d mails, want 2 (one per badge)", fresh[0], len(ms))
	}

	var usage struct {
		Quota struct {
			Used  int `json:"used"`
			Limit int `json:"limit"`
		} `json:"quota"`
	}
	c.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+o.ID+"/usage", nil, &usage)
	if usage.Quota.Used != 6 || usage.Quota.Limit != 6 {
		t.Errorf("usage %+v, want 6 of 6", usage.Quota)
	}

	if js := listJobs(c, o.ID); !slices.Equal(jobIDs(js), []string{tjob.ID, job.ID}) {
		t.Errorf("job list %v, want %v (newest first)", jobIDs(js), []string{tjob.ID, job.ID})
	}

	// Another organization sees nothing of it.
	stranger, _ := e.newIssuer(t, "")
	sc := e.as(t, stranger.Token)
	sc.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodGet, bulkPath(o.ID)+"/"+job.ID, nil)
	sc.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodGet, bulkPath(o.ID)+"/"+job.ID+"/rows", nil)
	sc.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodGet, bulkPath(o.ID), nil)
	c.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodGet, bulkPath(o.ID)+"/00000000-0000-4000-8000-000000000000", nil)
	e.anon(t).expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, bulkPath(o.ID)+"/"+job.ID, nil)
}

// testBulkBadFiles: files that are not acceptable CSV are refused with
// INVALID_CSV saying why, create no job, and never cause a 5xx.
func testBulkBadFiles(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	e.setPlan(t, o.ID, "professional")
	c := e.as(t, owner.Token)
	b := createBadge(c, o.ID, 0)
	good := csvOf(t, recipient{"Val Valid", uniqueEmail("valid")})
	first := submitBulk(c, o.ID, b.ID, good)
	awaitJob(c, o.ID, first.ID, time.Minute, nil)

	// The smallest ZIP archive: an empty one's end of central directory,
	// behind a local file header (what .xlsx files start with).
	zipBody := append([]byte("PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00"), bytes.Repeat([]byte{0}, 64)...)
	overSize := []byte("name,email,padding\nPat Padded,pad@example.com,")
	overSize = append(overSize, bytes.Repeat([]byte("x"), 1<<20+1-len(overSize)-1)...)
	overSize = append(overSize, '\n')
	bigField := []byte("name,email\n\"" + strings.Repeat("a", 1_000_000) + "\"," + uniqueEmail("big") + "\n")
	hostile := []recipient{
		{"=cmd|' /C calc'!A0", uniqueEmail("h1")},
		{"+SUM(1,2)", uniqueEmail("h2")},
		{"-2+3", uniqueEmail("h3")},
		{"@SUM(A1)", uniqueEmail("h4")},
		{"\tTabbed", uniqueEmail("h5")},
		{"Eve Equals", "=1+1@example.com"},
		{"Nora Nomail", "not an email"},
		{"", uniqueEmail("h6")},
		{"Bell\aName", uniqueEmail("h7")},
		{"Line\nBreak", uniqueEmail("h8")},
		{"=HYPERLINK(\"http://evil.example\",\"x\")", uniqueEmail("h9")},
	}
	cases := []struct {
		name, file, partType string
		data                 []byte
		detail               string // what the detail must say
		rowLevel             bool   // the file reads, but no row can be issued: validation previews it
	}{
		{"xlsx_name", "recipients.xlsx", xlsxType, good, "only .csv files", false},
		{"zip_named_csv", "recipients.csv", csvType, zipBody, "ZIP archive", false},
		{"xlsx_named_csv_as_excel", "recipients.csv", "application/vnd.ms-excel", zipBody, "Excel .xlsx", false},
		{"invalid_utf8", "recipients.csv", csvType, []byte("name,email\nJos\xe9 Latin,jose@example.com\n"), "not UTF-8", false},
		{"no_email_header", "recipients.csv", csvType, []byte("name,mail\nNo Email,x@example.com\n"), `"email" column`, false},
		{"one_byte_over_1MiB", "recipients.csv", csvType, overSize, "1048577 bytes", false},
		{"nul_bytes", "recipients.csv", csvType, []byte("name,email\nNul\x00Byte,nul@example.com\n"), "NUL byte", false},
		{"empty", "recipients.csv", csvType, []byte("\n\n"), "the file is empty", false},
		{"header_only", "recipients.csv", csvType, []byte("name,email\n"), "no rows below the header", false},
		{"open_quote", "recipients.csv", csvType, []byte("name,email\n\"Olive Open,olive@example.com\n"), "never closed", false},
		{"one_1MB_field", "recipients.csv", csvType, bigField, "no row of the file can be issued", true},
		{"only_hostile_rows", "recipients.csv", csvType, csvOf(t, hostile...), "no row of the file can be issued", true},
	}
	if len(overSize) != 1<<20+1 {
		t.Fatalf("the oversized file has %d bytes", len(overSize))
	}
	for _, tc := range cases {
		form := bulkForm(t, b.ID, tc.file, tc.partType, tc.data)
		p := c.checkProblem(c.do(http.MethodPost, bulkPath(o.ID), form), http.StatusUnprocessableEntity, "INVALID_CSV")
		if !strings.Contains(p.Detail, tc.detail) {
			t.Errorf("%s: submit detail %q does not say %q", tc.name, p.Detail, tc.detail)
		}
		if len(p.Detail) > 2000 {
			t.Errorf("%s: a %d-byte detail", tc.name, len(p.Detail))
		}
		r := c.do(http.MethodPost, bulkPath(o.ID)+"/validate", form)
		if !tc.rowLevel {
			if vp := c.checkProblem(r, http.StatusUnprocessableEntity, "INVALID_CSV"); vp.Detail != p.Detail {
				t.Errorf("%s: validate says %q, submit %q", tc.name, vp.Detail, p.Detail)
			}
			continue
		}
		if r.Status != http.StatusOK {
			t.Errorf("%s: validate: want 200 with every row invalid: %s", tc.name, r)
			continue
		}
		var v bulkValidation
		if err := json.Unmarshal(r.Body, &v); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if v.Totals.Issuable != 0 || v.Totals.Invalid != v.Totals.Rows || v.Totals.Rows != len(v.Rows) || v.Totals.Rows == 0 {
			t.Errorf("%s: totals %+v, want every row invalid", tc.name, v.Totals)
		}
		for _, row := range v.Rows {
			if row.State != "invalid" || row.Reason == "" {
				t.Errorf("%s: row %d: %+v, want invalid with a reason", tc.name, row.Row, row)
			}
		}
	}
	if js := listJobs(c, o.ID); !slices.Equal(jobIDs(js), []string{first.ID}) {
		t.Errorf("jobs after refused files: %v, want only %s", jobIDs(js), first.ID)
	}
	for _, h := range hostile {
		if ms := e.mails(t, h[1]); len(ms) != 0 {
			t.Errorf("%s got mail", h[1])
		}
	}

	// Bad form fields.
	c.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, bulkPath(o.ID),
		bulkForm(t, "not-a-badge", "recipients.csv", csvType, good))
	c.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodPost, bulkPath(o.ID),
		bulkForm(t, "00000000-0000-4000-8000-000000000000", "recipients.csv", csvType, good))
	if r := c.do(http.MethodPost, bulkPath(o.ID), map[string]string{"badgeId": b.ID}); r.Status < 400 || r.Status >= 500 {
		t.Errorf("a JSON body instead of a form: %s", r)
	}
}

// testResend runs on a server with one in-process worker: a credential's
// mail still queued is returned as is, a sent one waits 7 days, test
// credentials are never mailed, and only the issuer's owner or admin
// resends.
func testResend(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	// Another organization's owner, signed up before the job below queues
	// thousands of mails ahead of a verification mail.
	stranger, _ := e.newIssuer(t, "")
	e.setPlan(t, o.ID, "professional")
	c := e.as(t, owner.Token)
	b := createBadge(c, o.ID, 0)

	// A job keeps the only worker busy, so the next mail waits in the queue.
	const blockRows = 2000
	rows := make([]recipient, blockRows)
	for i := range rows {
		rows[i] = recipient{fmt.Sprintf("Blocker %d", i), uniqueEmail("blocker")}
	}
	job := submitBulk(c, o.ID, b.ID, csvOf(t, rows...))
	deadline := time.Now().Add(30 * time.Second)
	for j := getJob(c, o.ID, job.ID); j.Status == "pending"; j = getJob(c, o.ID, job.ID) {
		if time.Now().After(deadline) {
			t.Fatalf("the job was not taken up within 30s: %s", j)
		}
		time.Sleep(10 * time.Millisecond)
	}

	email := uniqueEmail("resend")
	cr := issue(c, o.ID, b.ID, "Rhea Resend", email)
	resend := "/api/v1/orgs/" + o.ID + "/credentials/" + cr.ID + "/resend"
	type mailOut struct {
		ID           string `json:"id"`
		CredentialID string `json:"credentialId"`
		Kind         string `json:"kind"`
		Status       string `json:"status"`
		Attempts     int    `json:"attempts"`
	}
	r := c.do(http.MethodPost, resend, nil)
	busy := getJob(c, o.ID, job.ID).Status == "processing"
	switch {
	case r.Status == http.StatusAccepted:
		var m mailOut
		if err := json.Unmarshal(r.Body, &m); err != nil {
			t.Fatal(err)
		}
		if m.CredentialID != cr.ID || m.Kind != "credential.issued" || (m.Status != "queued" && m.Status != "sending") || m.ID == "" {
			t.Errorf("resend of a mail on its way: %s, want the issue mail, queued or sending", r)
		}
		again := c.do(http.MethodPost, resend, nil)
		var m2 mailOut
		_ = json.Unmarshal(again.Body, &m2)
		switch {
		case again.Status == http.StatusAccepted && m2.ID == m.ID:
		case again.Status == http.StatusTooManyRequests && getJob(c, o.ID, job.ID).done():
			// sent meanwhile
		default:
			t.Errorf("a second resend of a mail on its way: %s, want the same mail %s", again, m.ID)
		}
	case busy:
		t.Errorf("resend while the mail waits behind a running job: want 202: %s", r)
	default:
		// The job ended first and the mail went out: the cooldown applies.
		t.Logf("the blocking job ended before the resend; got %s", r)
	}

	awaitJob(c, o.ID, job.ID, 2*time.Minute, nil)
	e.awaitCredentialMails(t, []string{cr.ID}, 30*time.Second)

	// Sent: wait 7 days. (The mail file is written a moment before the
	// mail is recorded sent; meanwhile a resend answers with the mail on
	// its way, changing nothing.)
	for deadline := time.Now().Add(10 * time.Second); ; {
		r = c.do(http.MethodPost, resend, nil)
		if r.Status != http.StatusAccepted || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	p := c.checkProblem(r, http.StatusTooManyRequests, "RATE_LIMITED")
	const week = 7 * 24 * time.Hour
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || !within(time.Duration(secs)*time.Second, week, 2*time.Minute) {
		t.Errorf("Retry-After %q, want about %d seconds", r.Header.Get("Retry-After"), int(week.Seconds()))
	}
	var retry struct {
		RetryAt *time.Time `json:"retryAt"`
	}
	_ = json.Unmarshal(r.Body, &retry)
	if retry.RetryAt == nil || !within(time.Until(*retry.RetryAt), week, 2*time.Minute) {
		t.Errorf("retryAt %v, want about 7 days from now: %s", retry.RetryAt, r)
	}
	if !strings.Contains(p.Detail, "sent") {
		t.Errorf("RATE_LIMITED detail %q", p.Detail)
	}
	time.Sleep(200 * time.Millisecond)
	if ms := e.credentialMails(t)[cr.ID]; len(ms) != 1 {
		t.Errorf("credential %s has %d mails, want 1", cr.ID, len(ms))
	}

	// Test credentials are never mailed; API keys cannot resend.
	var key apiKey
	c.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+o.ID+"/api-keys", map[string]string{"name": "sandbox", "mode": "test"}, &key)
	kc := e.as(t, key.Secret)
	tc := issue(kc, o.ID, b.ID, "Tess Test", uniqueEmail("test"))
	if !tc.Test {
		t.Fatalf("issued with a test key: %+v, want a test credential", tc)
	}
	c.expectProblem(http.StatusConflict, "INVALID_STATE", http.MethodPost, "/api/v1/orgs/"+o.ID+"/credentials/"+tc.ID+"/resend", nil)
	kc.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodPost, resend, nil)

	// Other organizations do not see the credential.
	e.as(t, stranger.Token).expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodPost, resend, nil)
	e.anon(t).expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodPost, resend, nil)
	c.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodPost, "/api/v1/orgs/"+o.ID+"/credentials/CRD-00000000/resend", nil)
}
