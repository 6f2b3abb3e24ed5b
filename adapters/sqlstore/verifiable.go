package sqlstore

import (
	"context"
	"strings"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// verifiableRow is what Credentials.Verifiable reads: every column of the
// credential, its organization and its badge, and the organization's
// active key fragment.
type verifiableRow struct {
	Cred      credentialRow `bun:"embed:c_"`
	Org       orgRow        `bun:"embed:o_"`
	Badge     badgeRow      `bun:"embed:b_"`
	ActiveKey string        `bun:"active_key"`
}

// credentialColumns are the columns of credentialRow.
var credentialColumns = []string{"id", "org_id", "badge_id", "recipient_name", "recipient_email", "issued_at",
	"expires_at", "public", "test", "claimed_at", "revoked_at", "revocation_reason", "supersedes_id",
	"superseded_by_id", "key_id", "jws", "created_by"}

// badgeColumns are the columns of badgeRow.
var badgeColumns = []string{"id", "org_id", "name", "slug", "description", "criteria", "image_url", "tags",
	"expires_in_days", "active", "locked", "created_at", "updated_at"}

// verifiableQuery reads a credential with its organization and badge by
// their primary keys, and the active key's fragment through the partial
// index of active keys: one indexed statement per verification, prepared
// once (scanHot). Its placeholder is the credential ID.
var verifiableQuery = func() string {
	var cols []string
	add := func(alias string, names []string) {
		for _, n := range names {
			cols = append(cols, alias+"."+n+" AS "+alias+"_"+n)
		}
	}
	add("c", credentialColumns)
	add("o", orgColumns)
	add("b", badgeColumns)
	return "SELECT " + strings.Join(cols, ", ") +
		`, COALESCE((SELECT k.fragment FROM signing_keys AS k WHERE k.org_id = c.org_id AND k.status = 'active'), '') AS active_key
	FROM credentials AS c
	JOIN organizations AS o ON o.id = c.org_id
	JOIN badges AS b ON b.id = c.badge_id
	WHERE c.id = ?`
}()

// Verifiable reads the credential, its organization, its badge and the
// organization's active key fragment in one query.
func (r *Credentials) Verifiable(ctx context.Context, id domain.CredentialID) (ports.Verifiable, error) {
	var row verifiableRow
	if err := r.s.scanHot(ctx, verifiableQuery, &row, string(id)); err != nil {
		return ports.Verifiable{}, notFound(err, "verifiable credential "+string(id))
	}
	badge, err := row.Badge.toDomain()
	if err != nil {
		return ports.Verifiable{}, err
	}
	return ports.Verifiable{Credential: row.Cred.toDomain(), Org: row.Org.toDomain(), Badge: badge, ActiveKey: row.ActiveKey}, nil
}
