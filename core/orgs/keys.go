package orgs

import (
	"context"
	"errors"
	"fmt"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
)

// GenerateKeys creates the organization's first signing key (owners only);
// a second call returns SIGNING_KEYS_EXIST.
func (s *Service) GenerateKeys(ctx context.Context, actor domain.Actor, orgID string, alg domain.Algorithm) (domain.SigningKey, error) {
	if alg == "" {
		alg = domain.AlgES256
	}
	if !domain.ValidAlgorithm(alg) {
		return domain.SigningKey{}, &domain.ValidationError{Fields: []domain.FieldError{{Location: "body.alg", Message: "alg must be ES256, EdDSA or RS256", Value: alg}}}
	}
	if _, err := s.guard.Org(ctx, actor, orgID, domain.PermSigningKeys); err != nil {
		return domain.SigningKey{}, err
	}
	key, err := s.newKey(orgID, alg, 1)
	if err != nil {
		return domain.SigningKey{}, err
	}
	err = s.store.WithinTx(ctx, func(ctx context.Context) error {
		keys, err := s.store.SigningKeys().List(ctx, orgID)
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			return domain.ErrSigningKeysExist
		}
		if err := s.store.SigningKeys().Create(ctx, key); err != nil {
			return err
		}
		return s.record(ctx, actor, orgID, domain.ActSigningKeyCreated, "signing_key", key.ID, string(key.Algorithm))
	})
	return key, err
}

// RotateKeys retires the active key and makes a new one of the same
// algorithm the signer. Retired keys stay published and keep verifying.
func (s *Service) RotateKeys(ctx context.Context, actor domain.Actor, orgID string) (domain.SigningKey, error) {
	if _, err := s.guard.Org(ctx, actor, orgID, domain.PermSigningKeys); err != nil {
		return domain.SigningKey{}, err
	}
	var out domain.SigningKey
	err := s.store.WithinTx(ctx, func(ctx context.Context) error {
		keys, err := s.store.SigningKeys().List(ctx, orgID)
		if err != nil {
			return err
		}
		active, err := s.store.SigningKeys().Active(ctx, orgID)
		if err != nil {
			return err
		}
		next, err := s.newKey(orgID, active.Algorithm, len(keys)+1)
		if err != nil {
			return err
		}
		if err := s.store.SigningKeys().Retire(ctx, active.ID, s.now()); err != nil {
			return err
		}
		out = next
		if err := s.store.SigningKeys().Create(ctx, next); err != nil {
			return err
		}
		if err := s.record(ctx, actor, orgID, domain.ActSigningKeyRotated, "signing_key", next.ID, "retired "+active.ID); err != nil {
			return err
		}
		return s.rotateProofKey(ctx, actor, orgID)
	})
	if errors.Is(err, domain.ErrNotFound) {
		return domain.SigningKey{}, domain.ErrSigningKeysMissing
	}
	return out, err
}

func (s *Service) newKey(orgID string, alg domain.Algorithm, n int) (domain.SigningKey, error) {
	pub, priv, err := signing.Generate(alg)
	if err != nil {
		return domain.SigningKey{}, err
	}
	enc, err := s.cipher.Encrypt(priv)
	if err != nil {
		return domain.SigningKey{}, fmt.Errorf("encrypt private key: %w", err)
	}
	return domain.SigningKey{ID: domain.NewID(), OrgID: orgID, Fragment: fmt.Sprintf("key-%d", n), Algorithm: alg,
		Status: domain.KeyActive, PublicJWK: pub, PrivateEnc: enc, CreatedAt: s.now()}, nil
}

// Keys lists the organization's keys, active and retired (owners only).
func (s *Service) Keys(ctx context.Context, actor domain.Actor, orgID string) ([]domain.SigningKey, error) {
	if _, err := s.guard.Org(ctx, actor, orgID, domain.PermSigningKeys); err != nil {
		return nil, err
	}
	return s.store.SigningKeys().List(ctx, orgID)
}

// ensureProofKey gives the organization an active Data Integrity key
// (Ed25519, published in its DID document as a Multikey) unless it has
// one, in the transaction at hand.
func (s *Service) ensureProofKey(ctx context.Context, actor domain.Actor, orgID string) error {
	_, err := s.store.ProofKeys().Active(ctx, orgID)
	if !errors.Is(err, domain.ErrNotFound) {
		return err
	}
	return s.newProofKey(ctx, actor, orgID)
}

// rotateProofKey retires the organization's active Data Integrity key, if
// it has one, and makes the next: proofs made with the retired one keep
// verifying, as it stays published.
func (s *Service) rotateProofKey(ctx context.Context, actor domain.Actor, orgID string) error {
	active, err := s.store.ProofKeys().Active(ctx, orgID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.store.ProofKeys().Retire(ctx, active.ID, s.now()); err != nil {
		return err
	}
	return s.newProofKey(ctx, actor, orgID)
}

func (s *Service) newProofKey(ctx context.Context, actor domain.Actor, orgID string) error {
	keys, err := s.store.ProofKeys().List(ctx, orgID)
	if err != nil {
		return err
	}
	pub, seed, err := signing.GenerateEd25519()
	if err != nil {
		return err
	}
	enc, err := s.cipher.Encrypt(seed)
	if err != nil {
		return fmt.Errorf("encrypt proof key: %w", err)
	}
	k := domain.ProofKey{ID: domain.NewID(), OrgID: orgID, Fragment: fmt.Sprintf("proof-%d", len(keys)+1), Public: pub,
		PrivateEnc: enc, Status: domain.KeyActive, CreatedAt: s.now()}
	if err := s.store.ProofKeys().Create(ctx, k); err != nil {
		return err
	}
	return s.record(ctx, actor, orgID, domain.ActSigningKeyCreated, "proof_key", k.ID, "Ed25519 (Data Integrity)")
}
