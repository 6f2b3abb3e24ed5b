package credentials

import (
	"context"
	"encoding/json"

	"github.com/credence-dev/credence/core/dataintegrity"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
)

// IssuerKeys returns an issuer and its published keys, active and retired.
func (s *Service) IssuerKeys(ctx context.Context, slug string) (domain.Organization, []signing.PublishedKey, error) {
	if !domain.ValidSlug(slug) {
		return domain.Organization{}, nil, domain.ErrNotFound
	}
	org, err := s.store.Orgs().GetBySlug(ctx, slug)
	if err != nil {
		return domain.Organization{}, nil, err
	}
	keys, err := s.store.SigningKeys().List(ctx, org.ID)
	if err != nil {
		return domain.Organization{}, nil, err
	}
	did := s.urls.DID(org.Slug)
	out := make([]signing.PublishedKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, signing.PublishedKey{KID: signing.KeyID(did, k.Fragment), Algorithm: k.Algorithm, Public: k.PublicJWK})
	}
	return org, out, nil
}

// JWKS renders the issuer's JWKS.
func (s *Service) JWKS(ctx context.Context, slug string) ([]byte, error) {
	_, keys, err := s.IssuerKeys(ctx, slug)
	if err != nil {
		return nil, err
	}
	return signing.JWKS(keys)
}

// DIDDocument renders the issuer's did:web document: its JWS keys and
// its Data Integrity keys.
func (s *Service) DIDDocument(ctx context.Context, slug string) ([]byte, error) {
	org, keys, err := s.IssuerKeys(ctx, slug)
	if err != nil {
		return nil, err
	}
	proofKeys, err := s.store.ProofKeys().List(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	did := s.urls.DID(org.Slug)
	multikeys := make([]signing.Multikey, len(proofKeys))
	for i, k := range proofKeys {
		multikeys[i] = signing.Multikey{ID: signing.KeyID(did, k.Fragment), PublicKeyMultibase: dataintegrity.Multikey(k.Public)}
	}
	return signing.DIDDocument(did, keys, multikeys...)
}

// IssuerProfile renders the issuer's Open Badges 3.0 Profile.
func (s *Service) IssuerProfile(ctx context.Context, slug string) ([]byte, error) {
	if !domain.ValidSlug(slug) {
		return nil, domain.ErrNotFound
	}
	org, err := s.store.Orgs().GetBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	p := map[string]any{
		"@context":    documentContext,
		"id":          s.urls.DID(org.Slug),
		"type":        []string{"Profile"},
		"name":        org.Name,
		"description": org.Description,
		"url":         org.WebsiteURL,
		"otherIdentifier": []map[string]any{{
			"type": "IdentifierEntry", "identifierType": "identifier", "identifier": s.urls.Issuer(org.Slug),
		}},
	}
	if org.WebsiteURL == "" {
		delete(p, "url")
	}
	if org.Description == "" {
		delete(p, "description")
	}
	if org.LogoURL != "" {
		p["image"] = Image{ID: org.LogoURL, Type: "Image"}
	}
	return json.Marshal(p)
}

// Achievements renders the issuer's active badges as Open Badges 3.0
// Achievements.
func (s *Service) Achievements(ctx context.Context, slug string) ([]byte, error) {
	if !domain.ValidSlug(slug) {
		return nil, domain.ErrNotFound
	}
	org, err := s.store.Orgs().GetBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	badges, err := s.activeBadges(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	out := make([]Achievement, 0, len(badges))
	for _, b := range badges {
		out = append(out, s.achievement(org, b))
	}
	return json.Marshal(map[string]any{"@context": documentContext, "id": s.urls.Issuer(org.Slug) + "/achievements", "achievements": out})
}

// Achievement renders one badge as an Open Badges 3.0 Achievement.
func (s *Service) Achievement(ctx context.Context, orgSlug, badgeSlug string) ([]byte, error) {
	if !domain.ValidSlug(orgSlug) || !domain.ValidSlug(badgeSlug) {
		return nil, domain.ErrNotFound
	}
	org, err := s.store.Orgs().GetBySlug(ctx, orgSlug)
	if err != nil {
		return nil, err
	}
	b, err := s.store.Badges().GetBySlug(ctx, org.ID, badgeSlug)
	if err != nil {
		return nil, err
	}
	a := struct {
		Context []string `json:"@context"`
		Achievement
		Creator map[string]any `json:"creator"`
	}{documentContext, s.achievement(org, b), map[string]any{"id": s.urls.DID(org.Slug), "type": []string{"Profile"}, "name": org.Name}}
	return json.Marshal(a)
}

func (s *Service) achievement(org domain.Organization, b domain.Badge) Achievement {
	return Achievement{
		ID: s.urls.Achievement(org.Slug, b.Slug), Type: []string{"Achievement"}, Name: b.Name,
		Description: b.Description, Criteria: Criteria{Narrative: b.Criteria},
		Image: &Image{ID: b.ImageURL, Type: "Image"}, Tag: b.Tags,
	}
}
