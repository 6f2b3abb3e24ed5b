package domain

import "time"

// JobStatus is the lifecycle state of a bulk issuance job.
type JobStatus string

// Bulk issuance jobs go pending → processing → completed | failed.
const (
	JobPending    JobStatus = "pending"
	JobProcessing JobStatus = "processing"
	JobCompleted  JobStatus = "completed"
	JobFailed     JobStatus = "failed"
)

// Done reports whether the job will not change any more.
func (s JobStatus) Done() bool { return s == JobCompleted || s == JobFailed }

// RowState is the preview state of one CSV row: the pre-issue state of its
// recipient in words a bulk preview shows.
type RowState string

// Preview states of API.md.
const (
	RowNew             RowState = "new"               // no earlier credential
	RowRenewal         RowState = "renewal"           // an expired or revoked earlier credential
	RowActiveTimeBound RowState = "active_time_bound" // an active credential that expires: revoked and replaced
	RowSkipped         RowState = "skipped"           // an active non-expiring credential: nothing to do
	RowInvalid         RowState = "invalid"           // the row cannot be issued; Reason says why
)

// Issuable reports whether a row in this state would be issued.
func (s RowState) Issuable() bool {
	return s == RowNew || s == RowRenewal || s == RowActiveTimeBound
}

// RowStateOf maps a pre-issue state to the preview state of a row.
func RowStateOf(s IssueState) RowState {
	switch s {
	case StateExpired, StateRevoked:
		return RowRenewal
	case StateActiveTimeBound:
		return RowActiveTimeBound
	case StateActiveNonExpiring:
		return RowSkipped
	default:
		return RowNew
	}
}

// CSVRow is one data row of a bulk file: its 1-based row number (the
// header is row 0, so row N is the Nth recipient) and its cells as read,
// untrimmed but for the email.
type CSVRow struct {
	Row   int
	Name  string
	Email string
}

// PreviewRow is one row of a bulk preview.
type PreviewRow struct {
	Row    int
	Name   string
	Email  string
	State  RowState
	Reason string // why a row is invalid or skipped; "" otherwise
	Quota  bool   // invalid because the monthly quota has no slot left for it
	// ExistingID is the recipient's current credential of the badge, if any.
	ExistingID CredentialID
}

// PreviewTotals counts the rows of a preview by state.
type PreviewTotals struct {
	Rows            int
	New             int
	Renewal         int
	ActiveTimeBound int
	Skipped         int
	Invalid         int
}

// Issuable is how many rows would be issued.
func (t PreviewTotals) Issuable() int { return t.New + t.Renewal + t.ActiveTimeBound }

// Add counts r.
func (t *PreviewTotals) Add(r PreviewRow) {
	t.Rows++
	switch r.State {
	case RowNew:
		t.New++
	case RowRenewal:
		t.Renewal++
	case RowActiveTimeBound:
		t.ActiveTimeBound++
	case RowSkipped:
		t.Skipped++
	default:
		t.Invalid++
	}
}

// RowOutcome is what processing did with a row.
type RowOutcome string

// Row outcomes; a row without an outcome is still to do.
const (
	OutcomePending RowOutcome = "pending"
	OutcomeIssued  RowOutcome = "issued"
	OutcomeSkipped RowOutcome = "skipped"
	OutcomeFailed  RowOutcome = "failed"
)

// BulkJob is a submitted bulk issuance.
type BulkJob struct {
	ID         string
	OrgID      string
	BadgeID    string
	FileName   string
	Status     JobStatus
	Total      int // rows in the file
	Issued     int
	Skipped    int
	Failed     int
	Test       bool   // submitted with a test API key: test credentials, no quota, no mail
	CreatedBy  string // user or API key ID
	APIKeyID   string // set when an API key submitted the job
	Error      string // why a failed job stopped
	CreatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
}

// Processed is how many rows have an outcome.
func (j BulkJob) Processed() int { return j.Issued + j.Skipped + j.Failed }

// BulkRow is one row of a job and, once processed, its outcome.
type BulkRow struct {
	JobID        string
	Row          int
	Name         string
	Email        string
	State        RowState // preview state at submission
	Outcome      RowOutcome
	CredentialID CredentialID // the credential issued, or the existing one a skip names
	Code         string       // error code of a failed or skipped row
	Reason       string
	ProcessedAt  *time.Time
}

// MailStatus is the delivery state of an outgoing mail.
type MailStatus string

// Mails go queued → sending → sent, or back to queued after a failed
// attempt, and failed once attempts run out. A deferred mail whose
// composition finds nothing to send ends dropped.
const (
	MailQueued  MailStatus = "queued"
	MailSending MailStatus = "sending"
	MailSent    MailStatus = "sent"
	MailFailed  MailStatus = "failed"
	MailDropped MailStatus = "dropped"
)

// MailKind names what a mail is about.
type MailKind string

// Kinds of credential mail.
const (
	MailCredentialIssued  MailKind = "credential.issued"
	MailCredentialRenewed MailKind = "credential.renewed"
	// MailCredentialLinks answers "retrieve my credentials": the links of
	// every credential issued to the address.
	MailCredentialLinks MailKind = "credential.links"
)

// Kinds of account mail.
const (
	MailVerifyEmail     MailKind = "account.verify_email"
	MailSignUpAttempt   MailKind = "account.signup_attempt" // sign-up with a registered email
	MailPasswordReset   MailKind = "account.password_reset"
	MailPasswordChanged MailKind = "account.password_changed"
	MailAccountLocked   MailKind = "account.locked"
	MailMFACode         MailKind = "account.mfa_code"
	MailOrgDecision     MailKind = "org.decision" // approved, rejected, suspended
	MailInvitation      MailKind = "org.invitation"
	MailMembership      MailKind = "org.membership"   // role changed, removed, invitation answered
	MailWebhookDisabled MailKind = "webhook.disabled" // an endpoint switched off (410 Gone, or failing for days)
)

// Mail is an outgoing email kept until delivered: the outbox of mail.
type Mail struct {
	ID           string
	OrgID        string
	CredentialID CredentialID
	Kind         MailKind
	To           string
	Subject      string
	Text         string // the body; when Sealed, encrypted (base64) under the master key
	Sealed       bool   // the body holds a secret (a sign-in link or code)
	// Deferred: the mail is written at delivery. Text holds what the
	// request recorded (sealed), for the composer of Kind to write the
	// mail from, or to drop it; Subject is empty until then.
	Deferred    bool
	Status      MailStatus
	Attempts    int
	LastError   string
	CreatedAt   time.Time
	NextAttempt time.Time // when a queued mail is due, or a sending one's lease ends
	SentAt      *time.Time
}

// EventType names something that happened, as webhooks will tell it.
type EventType string

// Event types of API.md.
const (
	EventBulkIssuanceCompleted EventType = "bulk_issuance.completed"
)

// Event is a recorded occurrence: its type, the organization and the
// subject it is about, and a JSON payload.
type Event struct {
	ID        string
	OrgID     string
	Type      EventType
	SubjectID string
	Payload   []byte
	CreatedAt time.Time
}
