package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

type webhookRow struct {
	bun.BaseModel `bun:"table:webhooks,alias:wh"`

	ID                string     `bun:"id,pk"`
	OrgID             string     `bun:"org_id"`
	URL               string     `bun:"url"`
	Events            string     `bun:"events"`
	Active            bool       `bun:"active"`
	Description       string     `bun:"description"`
	SecretEnc         []byte     `bun:"secret_enc"`
	PreviousSecretEnc []byte     `bun:"previous_secret_enc"`
	PreviousUntil     *time.Time `bun:"previous_until"`
	DisabledReason    string     `bun:"disabled_reason"`
	FailingSince      *time.Time `bun:"failing_since"`
	CreatedAt         time.Time  `bun:"created_at"`
	UpdatedAt         time.Time  `bun:"updated_at"`
	CreatedBy         string     `bun:"created_by"`
}

func webhookRowOf(w domain.Webhook) *webhookRow {
	events := make([]string, len(w.Events))
	for i, e := range w.Events {
		events[i] = string(e)
	}
	return &webhookRow{ID: w.ID, OrgID: w.OrgID, URL: w.URL, Events: strings.Join(events, " "), Active: w.Active,
		Description: w.Description, SecretEnc: w.SecretEnc, PreviousSecretEnc: w.PreviousSecretEnc, PreviousUntil: utcPtr(w.PreviousUntil),
		DisabledReason: w.DisabledReason, FailingSince: utcPtr(w.FailingSince), CreatedAt: w.CreatedAt.UTC(), UpdatedAt: w.UpdatedAt.UTC(),
		CreatedBy: w.CreatedBy}
}

func (r *webhookRow) toDomain() domain.Webhook {
	var events []domain.EventType
	for e := range strings.FieldsSeq(r.Events) {
		events = append(events, domain.EventType(e))
	}
	return domain.Webhook{ID: r.ID, OrgID: r.OrgID, URL: r.URL, Events: events, Active: r.Active, Description: r.Description,
		SecretEnc: r.SecretEnc, PreviousSecretEnc: r.PreviousSecretEnc, PreviousUntil: utcPtr(r.PreviousUntil),
		DisabledReason: r.DisabledReason, FailingSince: utcPtr(r.FailingSince), CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt),
		CreatedBy: r.CreatedBy}
}

// A pending delivery is stored in one of three states, all pending to
// callers: "pending", waiting for its next attempt at next_attempt_at,
// when Due relays it; deliveryQueued, relayed to the queue (Due relays it
// again at next_attempt_at if that relay was lost); deliverySending, held
// by an attempt leased until next_attempt_at. Claim takes queued ones and
// sending ones whose lease ended: a task for a delivery waiting for a
// retry (a duplicate, or a stale one) finds nothing to attempt.
const (
	deliveryQueued  = "queued"
	deliverySending = "sending"
)

type deliveryRow struct {
	bun.BaseModel `bun:"table:webhook_deliveries,alias:wd"`

	ID          string     `bun:"id,pk"`
	OrgID       string     `bun:"org_id"`
	WebhookID   string     `bun:"webhook_id"`
	MessageID   string     `bun:"message_id"`
	EventType   string     `bun:"event_type"`
	Payload     []byte     `bun:"payload"`
	Test        bool       `bun:"test"`
	Status      string     `bun:"status"`
	Attempts    int        `bun:"attempts"`
	NextAttempt time.Time  `bun:"next_attempt_at"`
	LastStatus  int        `bun:"last_status"`
	LastError   string     `bun:"last_error"`
	CreatedAt   time.Time  `bun:"created_at"`
	DeliveredAt *time.Time `bun:"delivered_at"`
}

func deliveryRowOf(d domain.WebhookDelivery) deliveryRow {
	return deliveryRow{ID: d.ID, OrgID: d.OrgID, WebhookID: d.WebhookID, MessageID: d.MessageID, EventType: string(d.EventType),
		Payload: d.Payload, Test: d.Test, Status: string(d.Status), Attempts: d.Attempts, NextAttempt: d.NextAttempt.UTC(),
		LastStatus: d.LastStatus, LastError: d.LastError, CreatedAt: d.CreatedAt.UTC(), DeliveredAt: utcPtr(d.DeliveredAt)}
}

func (r *deliveryRow) toDomain() domain.WebhookDelivery {
	status := domain.DeliveryStatus(r.Status)
	if r.Status == deliverySending || r.Status == deliveryQueued {
		status = domain.DeliveryPending
	}
	return domain.WebhookDelivery{ID: r.ID, OrgID: r.OrgID, WebhookID: r.WebhookID, MessageID: r.MessageID,
		EventType: domain.EventType(r.EventType), Payload: r.Payload, Test: r.Test, Status: status, Attempts: r.Attempts,
		NextAttempt: utc(r.NextAttempt), LastStatus: r.LastStatus, LastError: r.LastError, CreatedAt: utc(r.CreatedAt),
		DeliveredAt: utcPtr(r.DeliveredAt)}
}

type attemptRow struct {
	bun.BaseModel `bun:"table:webhook_attempts,alias:wa"`

	ID         string    `bun:"id,pk"`
	DeliveryID string    `bun:"delivery_id"`
	N          int       `bun:"n"`
	At         time.Time `bun:"at"`
	StatusCode int       `bun:"status_code"`
	LatencyUS  int64     `bun:"latency_us"`
	Response   string    `bun:"response"`
	Error      string    `bun:"error"`
}

// Webhooks is the bun ports.Webhooks.
type Webhooks struct{ s *Store }

var _ ports.Webhooks = (*Webhooks)(nil)

// Webhooks returns the organizations' endpoints and their deliveries.
func (s *Store) Webhooks() ports.Webhooks { return &Webhooks{s} }

// Create stores a new endpoint.
func (r *Webhooks) Create(ctx context.Context, w domain.Webhook) error {
	if _, err := r.s.idb(ctx).NewInsert().Model(webhookRowOf(w)).Exec(ctx); err != nil {
		return fmt.Errorf("create webhook %s: %w", w.ID, err)
	}
	return nil
}

// Get returns the organization's endpoint.
func (r *Webhooks) Get(ctx context.Context, orgID, id string) (domain.Webhook, error) {
	var row webhookRow
	if err := r.s.idb(ctx).NewSelect().Model(&row).Where("id = ?", id).Where("org_id = ?", orgID).Scan(ctx); err != nil {
		return domain.Webhook{}, notFound(err, "webhook "+id)
	}
	return row.toDomain(), nil
}

// List returns the organization's endpoints, oldest first.
func (r *Webhooks) List(ctx context.Context, orgID string) ([]domain.Webhook, error) {
	return r.list(ctx, r.s.idb(ctx).NewSelect().Where("org_id = ?", orgID))
}

// Wanted reads the event lists of the organization's active endpoints
// (along webhooks_org_idx) and nothing else.
func (r *Webhooks) Wanted(ctx context.Context, orgID string, ts ...domain.EventType) (bool, error) {
	var lists []string
	err := r.s.idb(ctx).NewSelect().Model((*webhookRow)(nil)).Column("events").Where("org_id = ?", orgID).Where("active").Scan(ctx, &lists)
	if err != nil {
		return false, fmt.Errorf("webhooks wanted by organization %s: %w", orgID, err)
	}
	for _, l := range lists {
		for e := range strings.FieldsSeq(l) {
			if slices.Contains(ts, domain.EventType(e)) {
				return true, nil
			}
		}
	}
	return false, nil
}

// Subscribed returns the organization's active endpoints that chose t.
func (r *Webhooks) Subscribed(ctx context.Context, orgID string, t domain.EventType) ([]domain.Webhook, error) {
	all, err := r.list(ctx, r.s.idb(ctx).NewSelect().Where("org_id = ?", orgID).Where("active"))
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, w := range all {
		if w.Subscribes(t) {
			out = append(out, w)
		}
	}
	return out, nil
}

func (r *Webhooks) list(ctx context.Context, q *bun.SelectQuery) ([]domain.Webhook, error) {
	var rows []webhookRow
	if err := q.Model(&rows).OrderExpr("wh.created_at ASC, wh.id ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	out := make([]domain.Webhook, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// Update stores what may change of an endpoint.
func (r *Webhooks) Update(ctx context.Context, w domain.Webhook) error {
	row := webhookRowOf(w)
	n, err := affected(r.s.idb(ctx).NewUpdate().Model(row).
		Column("url", "events", "active", "description", "secret_enc", "previous_secret_enc", "previous_until",
			"disabled_reason", "failing_since", "updated_at").
		Where("id = ?", w.ID).Where("org_id = ?", w.OrgID).Exec(ctx))
	if err != nil {
		return fmt.Errorf("update webhook %s: %w", w.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("update webhook %s: %w", w.ID, domain.ErrNotFound)
	}
	return nil
}

// Delete removes an endpoint and fails its pending deliveries.
func (r *Webhooks) Delete(ctx context.Context, orgID, id string, at time.Time) error {
	return r.s.WithinTx(ctx, func(ctx context.Context) error {
		db := r.s.idb(ctx)
		n, err := affected(db.NewDelete().Model((*webhookRow)(nil)).Where("id = ?", id).Where("org_id = ?", orgID).Exec(ctx))
		if err != nil {
			return fmt.Errorf("delete webhook %s: %w", id, err)
		}
		if n == 0 {
			return fmt.Errorf("delete webhook %s: %w", id, domain.ErrNotFound)
		}
		return r.failWaiting(ctx, id, "the endpoint was deleted", at)
	})
}

var pendingStatuses = []string{string(domain.DeliveryPending), deliveryQueued, deliverySending}

// failWaiting fails an endpoint's deliveries that wait for an attempt
// (pending or queued), locking them in id order, as Claim does: the two
// never wait on each other in a cycle. Those an attempt holds (sending)
// are left to it: its record fails them at their next attempt if they
// must retry, and a mass update never races the attempts' own.
func (r *Webhooks) failWaiting(ctx context.Context, webhookID, why string, at time.Time) error {
	db := r.s.idb(ctx)
	waiting := r.s.forUpdate(db.NewSelect().Model((*deliveryRow)(nil)).Column("id").Where("webhook_id = ?", webhookID).
		Where("status IN (?)", bun.List([]string{string(domain.DeliveryPending), deliveryQueued})).Order("id"))
	_, err := db.NewUpdate().Model((*deliveryRow)(nil)).Set("status = ?", string(domain.DeliveryFailed)).
		Set("last_error = ?", why).Set("next_attempt_at = ?", at.UTC()).
		Where("id IN (?)", waiting).Where("status IN (?)", bun.List([]string{string(domain.DeliveryPending), deliveryQueued})).Exec(ctx)
	if err != nil {
		return fmt.Errorf("fail the deliveries of webhook %s: %w", webhookID, err)
	}
	return nil
}

// Deliver stores new deliveries; a second delivery of one message to one
// endpoint is not stored.
func (r *Webhooks) Deliver(ctx context.Context, ds ...domain.WebhookDelivery) error {
	if len(ds) == 0 {
		return nil
	}
	for start := 0; start < len(ds); start += rowBatch {
		part := ds[start:min(start+rowBatch, len(ds))]
		rows := make([]deliveryRow, len(part))
		for i, d := range part {
			rows[i] = deliveryRowOf(d)
			if d.Status == domain.DeliveryPending {
				rows[i].Status = deliveryQueued // relayed once the transaction commits
			}
		}
		if _, err := r.s.idb(ctx).NewInsert().Model(&rows).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
			return fmt.Errorf("store %d webhook deliveries: %w", len(part), err)
		}
	}
	return nil
}

// Delivery returns the organization's delivery.
func (r *Webhooks) Delivery(ctx context.Context, orgID, id string) (domain.WebhookDelivery, error) {
	var row deliveryRow
	if err := r.s.idb(ctx).NewSelect().Model(&row).Where("id = ?", id).Where("org_id = ?", orgID).Scan(ctx); err != nil {
		return domain.WebhookDelivery{}, notFound(err, "webhook delivery "+id)
	}
	return row.toDomain(), nil
}

// Deliveries pages through an endpoint's deliveries, newest first: the
// cursor is the last delivery seen.
func (r *Webhooks) Deliveries(ctx context.Context, f ports.DeliveryFilter) ([]domain.WebhookDelivery, error) {
	db := r.s.idb(ctx)
	q := db.NewSelect().Model((*deliveryRow)(nil)).Where("wd.org_id = ?", f.OrgID).Where("wd.webhook_id = ?", f.WebhookID)
	switch f.Status {
	case "":
	case domain.DeliveryPending:
		q = q.Where("wd.status IN (?)", bun.List(pendingStatuses))
	default:
		q = q.Where("wd.status = ?", string(f.Status))
	}
	if f.EventType != "" {
		q = q.Where("wd.event_type = ?", string(f.EventType))
	}
	if f.Page.After != "" {
		var after deliveryRow
		err := db.NewSelect().Model(&after).Column("created_at", "id").Where("id = ?", f.Page.After).Where("webhook_id = ?", f.WebhookID).Scan(ctx)
		if err != nil {
			return nil, notFound(err, "webhook delivery cursor "+f.Page.After)
		}
		q = q.Where("(wd.created_at < ? OR (wd.created_at = ? AND wd.id < ?))", after.CreatedAt, after.CreatedAt, after.ID)
	}
	var rows []deliveryRow
	if err := q.Model(&rows).OrderExpr("wd.created_at DESC, wd.id DESC").Limit(limit(f.Page.Limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	out := make([]domain.WebhookDelivery, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// Due takes pending deliveries whose attempt is due (and attempts whose
// lease ended: their worker died) and leases them to the relay.
func (r *Webhooks) Due(ctx context.Context, now, leaseUntil time.Time, n int) ([]string, error) {
	var ids []string
	err := r.s.WithinTx(ctx, func(ctx context.Context) error {
		db := r.s.idb(ctx)
		q := db.NewSelect().Model((*deliveryRow)(nil)).Column("id").
			Where("status IN (?)", bun.List(pendingStatuses)).Where("next_attempt_at <= ?", now.UTC()).
			Order("next_attempt_at").Limit(int64(n))
		if r.s.dialect == DialectPostgres {
			q = q.For("UPDATE SKIP LOCKED")
		}
		if err := q.Scan(ctx, &ids); err != nil || len(ids) == 0 {
			return err
		}
		_, err := db.NewUpdate().Model((*deliveryRow)(nil)).Set("next_attempt_at = ?", leaseUntil.UTC()).
			Set("status = ?", deliveryQueued).
			Where("id IN (?)", bun.List(ids)).Exec(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("due webhook deliveries: %w", err)
	}
	return ids, nil
}

// Claim starts attempts with one conditional UPDATE … RETURNING: of
// concurrent claimers of a delivery one gets it. A delivery is claimable
// when it is queued (relayed) or sending with an ended lease.
func (r *Webhooks) Claim(ctx context.Context, ids []string, now, leaseUntil time.Time) ([]ports.ClaimedDelivery, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []deliveryRow
	db := r.s.idb(ctx)
	const claimable = "(status = ? OR (status = ? AND next_attempt_at <= ?))"
	// Locked in id order first (PostgreSQL), as failWaiting locks them.
	locked := r.s.forUpdate(db.NewSelect().Model((*deliveryRow)(nil)).Column("id").Where("id IN (?)", bun.List(ids)).
		Where(claimable, deliveryQueued, deliverySending, now.UTC()).Order("id"))
	err := db.NewUpdate().Model((*deliveryRow)(nil)).
		Set("status = ?", deliverySending).Set("attempts = attempts + 1").Set("next_attempt_at = ?", leaseUntil.UTC()).
		Where("id IN (?)", locked).Where(claimable, deliveryQueued, deliverySending, now.UTC()).
		Returning("*").Scan(ctx, &rows)
	if err != nil && !isNoRows(err) {
		return nil, fmt.Errorf("claim %d webhook deliveries: %w", len(ids), err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	hooks := map[string]bool{}
	var hookIDs []string
	for _, row := range rows {
		if !hooks[row.WebhookID] {
			hooks[row.WebhookID] = true
			hookIDs = append(hookIDs, row.WebhookID)
		}
	}
	var whs []webhookRow
	if err := r.s.idb(ctx).NewSelect().Model(&whs).Where("id IN (?)", bun.List(hookIDs)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("the endpoints of %d webhook deliveries: %w", len(rows), err)
	}
	byID := make(map[string]domain.Webhook, len(whs))
	for i := range whs {
		byID[whs[i].ID] = whs[i].toDomain()
	}
	out := make([]ports.ClaimedDelivery, 0, len(rows))
	for i := range rows {
		// An endpoint deleted meanwhile: its zero value (no ID) tells.
		out = append(out, ports.ClaimedDelivery{Delivery: rows[i].toDomain(), Webhook: byID[rows[i].WebhookID]})
	}
	return out, nil
}

// settledRow is what Settle writes of a delivery (a narrow model: the
// bulk update carries these columns only).
type settledRow struct {
	bun.BaseModel `bun:"table:webhook_deliveries,alias:wd"`

	ID          string     `bun:"id,pk"`
	Attempts    int        `bun:"attempts"`
	Status      string     `bun:"status"`
	NextAttempt time.Time  `bun:"next_attempt_at"`
	LastStatus  int        `bun:"last_status"`
	LastError   string     `bun:"last_error"`
	DeliveredAt *time.Time `bun:"delivered_at"`
}

// Settle records attempts, the deliveries' states after them and their
// endpoints' runs of failures in one transaction.
func (r *Webhooks) Settle(ctx context.Context, os ...ports.Outcome) error {
	if len(os) == 0 {
		return nil
	}
	return r.s.WithinTx(ctx, func(ctx context.Context) error { return r.settle(ctx, os) })
}

// settle writes the endpoints' runs of failures first, then the
// attempts and the deliveries. The deliveries it writes are its
// attempts' own (sending), which no mass update (failWaiting) touches:
// it never waits on one in a cycle.
func (r *Webhooks) settle(ctx context.Context, os []ports.Outcome) error {
	db := r.s.idb(ctx)
	// Per endpoint: the latest success observed, and the earliest failure
	// observed after it (earlier ones are over).
	type run struct{ up, down time.Time }
	runs := map[string]*run{}
	var hooks []string
	seen := func(o ports.Outcome) time.Time { return o.Attempt.At.Add(o.Attempt.Latency).UTC() }
	for _, o := range os {
		if o.Endpoint == ports.EndpointUp {
			e, ok := runs[o.Delivery.WebhookID]
			if !ok {
				e = &run{}
				runs[o.Delivery.WebhookID] = e
				hooks = append(hooks, o.Delivery.WebhookID)
			}
			e.up = later(e.up, seen(o))
		}
	}
	for _, o := range os {
		if o.Endpoint != ports.EndpointDown {
			continue
		}
		e, ok := runs[o.Delivery.WebhookID]
		if !ok {
			e = &run{}
			runs[o.Delivery.WebhookID] = e
			hooks = append(hooks, o.Delivery.WebhookID)
		}
		if at := seen(o); at.After(e.up) && (e.down.IsZero() || at.Before(e.down)) {
			e.down = at
		}
	}
	slices.Sort(hooks)
	for _, id := range hooks {
		e := runs[id]
		if !e.up.IsZero() {
			// A success ends the run begun before it; one recorded late
			// (an older success) changes nothing.
			_, err := db.NewUpdate().Model((*webhookRow)(nil)).Set("last_ok_at = ?", e.up).
				Set("updated_at = CASE WHEN failing_since <= ? THEN ? ELSE updated_at END", e.up, e.up).
				Set("failing_since = CASE WHEN failing_since <= ? THEN NULL ELSE failing_since END", e.up).
				Where("id = ?", id).Where("(last_ok_at IS NULL OR last_ok_at < ?)", e.up).Exec(ctx)
			if err != nil {
				return fmt.Errorf("update webhook %s: %w", id, err)
			}
		}
		if !e.down.IsZero() {
			// A failure begins a run unless one is on, or a success was
			// seen after it.
			_, err := db.NewUpdate().Model((*webhookRow)(nil)).Set("failing_since = ?", e.down).Set("updated_at = ?", e.down).
				Where("id = ?", id).Where("failing_since IS NULL").Where("(last_ok_at IS NULL OR last_ok_at < ?)", e.down).Exec(ctx)
			if err != nil {
				return fmt.Errorf("update webhook %s: %w", id, err)
			}
		}
	}
	for start := 0; start < len(os); start += rowBatch {
		part := os[start:min(start+rowBatch, len(os))]
		rows := make([]attemptRow, len(part))
		for i, o := range part {
			a := o.Attempt
			id := a.ID
			if id == "" {
				id = domain.NewID()
			}
			rows[i] = attemptRow{ID: id, DeliveryID: o.Delivery.ID, N: a.N, At: a.At.UTC(), StatusCode: a.StatusCode,
				LatencyUS: a.Latency.Microseconds(), Response: a.Response, Error: a.Error}
		}
		// An attempt recorded already (by a try whose commit went
		// through unanswered) is not recorded twice.
		if _, err := db.NewInsert().Model(&rows).On("CONFLICT (id) DO NOTHING").Exec(ctx); err != nil {
			return fmt.Errorf("record %d webhook attempts: %w", len(part), err)
		}
	}
	sorted := slices.Clone(os)
	slices.SortFunc(sorted, func(a, b ports.Outcome) int { return strings.Compare(a.Delivery.ID, b.Delivery.ID) })
	for start := 0; start < len(sorted); start += rowBatch {
		part := sorted[start:min(start+rowBatch, len(sorted))]
		rows := make([]settledRow, len(part))
		for i, o := range part {
			d := o.Delivery
			rows[i] = settledRow{ID: d.ID, Attempts: d.Attempts, Status: string(d.Status), NextAttempt: d.NextAttempt.UTC(),
				LastStatus: d.LastStatus, LastError: d.LastError, DeliveredAt: utcPtr(d.DeliveredAt)}
		}
		_, err := db.NewUpdate().Model(&rows).Column("status", "next_attempt_at", "last_status", "last_error", "delivered_at").Bulk().
			Where("wd.status = ?", deliverySending).Where("wd.attempts = _data.attempts").Exec(ctx)
		if err != nil {
			return fmt.Errorf("update %d webhook deliveries: %w", len(part), err)
		}
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// SwitchOff switches an endpoint off if it is still on (and still in
// the run of failures w.FailingSince began), failing the deliveries it
// has waiting.
func (r *Webhooks) SwitchOff(ctx context.Context, w domain.Webhook) (bool, error) {
	switched := false
	err := r.s.WithinTx(ctx, func(ctx context.Context) error {
		switched = false
		q := r.s.idb(ctx).NewUpdate().Model((*webhookRow)(nil)).Set("active = ?", false).Set("disabled_reason = ?", w.DisabledReason).
			Set("updated_at = ?", w.UpdatedAt.UTC()).Where("id = ?", w.ID).Where("active")
		if w.FailingSince != nil {
			q = q.Where("failing_since <= ?", w.FailingSince.UTC())
		}
		n, err := affected(q.Exec(ctx))
		if err != nil || n == 0 {
			return err
		}
		switched = true
		return r.failWaiting(ctx, w.ID, "the endpoint was switched off: "+w.DisabledReason, w.UpdatedAt)
	})
	return switched && err == nil, err
}

// Lock returns the organization's endpoint, locked until the transaction
// ends.
func (r *Webhooks) Lock(ctx context.Context, orgID, id string) (domain.Webhook, error) {
	var row webhookRow
	q := r.s.forUpdate(r.s.idb(ctx).NewSelect().Model(&row).Where("id = ?", id).Where("org_id = ?", orgID))
	if err := q.Scan(ctx); err != nil {
		return domain.Webhook{}, notFound(err, "webhook "+id)
	}
	return row.toDomain(), nil
}

// Attempts returns the deliveries' attempts, each one's first first.
func (r *Webhooks) Attempts(ctx context.Context, deliveryIDs ...string) ([]domain.WebhookAttempt, error) {
	if len(deliveryIDs) == 0 {
		return nil, nil
	}
	var rows []attemptRow
	if err := r.s.idb(ctx).NewSelect().Model(&rows).Where("delivery_id IN (?)", bun.List(deliveryIDs)).
		OrderExpr("wa.delivery_id, wa.at ASC, wa.n ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("attempts of %d webhook deliveries: %w", len(deliveryIDs), err)
	}
	out := make([]domain.WebhookAttempt, len(rows))
	for i, row := range rows {
		out[i] = domain.WebhookAttempt{DeliveryID: row.DeliveryID, N: row.N, At: utc(row.At), StatusCode: row.StatusCode,
			Latency: time.Duration(row.LatencyUS) * time.Microsecond, Response: row.Response, Error: row.Error}
	}
	return out, nil
}

// Resend makes a delivery pending again, its attempts counted afresh.
func (r *Webhooks) Resend(ctx context.Context, orgID, id string, at time.Time) error {
	n, err := affected(r.s.idb(ctx).NewUpdate().Model((*deliveryRow)(nil)).
		Set("status = ?", deliveryQueued).Set("attempts = 0").Set("next_attempt_at = ?", at.UTC()).
		Set("delivered_at = NULL").
		Where("id = ?", id).Where("org_id = ?", orgID).Where("status <> ?", deliverySending).Exec(ctx))
	if err != nil {
		return fmt.Errorf("resend webhook delivery %s: %w", id, err)
	}
	if n == 0 {
		if _, err := r.Delivery(ctx, orgID, id); err != nil {
			return err
		}
		return fmt.Errorf("webhook delivery %s is being attempted: %w", id, domain.ErrInvalidState)
	}
	return nil
}
