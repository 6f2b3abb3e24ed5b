package credentials

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/core/statuslist"
	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

// Status lists (W3C Bitstring Status List v1.0). Every credential issued
// takes a place in one of its issuer's lists before it is signed: its
// signed document names the place (credentialStatus), so any verifier
// holding the file learns a revocation or a suspension from the list
// published at that URL. A change of status marks its list in the
// transaction of the change; the list is then published again through the
// queue (PublishStatusList), and the sweep publishes what a crash left.

// allocateChunk bounds the places one allocation takes: a batch larger
// than that takes several.
const allocateChunk = 4096

// slots hands out n places of org's status lists, creating the next list
// (published at once, every entry clear) when none has room. Places
// handed out to an issue that then fails stay unused: a clear bit that no
// credential names.
func (s *Service) slots(ctx context.Context, org domain.Organization, signer *signing.Signer, n int) ([]domain.StatusSlot, error) {
	out := make([]domain.StatusSlot, 0, n)
	for len(out) < n {
		got, err := s.allocate(ctx, org, signer, min(n-len(out), allocateChunk))
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

func (s *Service) allocate(ctx context.Context, org domain.Organization, signer *signing.Signer, n int) ([]domain.StatusSlot, error) {
	for range 5 {
		l, first, err := s.store.StatusLists().Allocate(ctx, org.ID, n)
		if err == nil {
			return slotsOf(l, first, n)
		}
		if !errors.Is(err, domain.ErrNotFound) {
			return nil, err
		}
		seq := 1
		switch last, err := s.store.StatusLists().Last(ctx, org.ID); {
		case err == nil:
			seq = last.Seq + 1
		case !errors.Is(err, domain.ErrNotFound):
			return nil, err
		}
		l, err = s.newList(ctx, org, signer, seq, n)
		if err != nil {
			return nil, err
		}
		switch err := s.store.StatusLists().Create(ctx, l); {
		case errors.Is(err, domain.ErrInvalidState):
			continue // a concurrent issue created it: take places there
		case err != nil:
			return nil, err
		}
		return slotsOf(l, 0, n)
	}
	return nil, fmt.Errorf("status list places for organization %s: concurrent issues kept filling the lists", org.ID)
}

// slotsOf returns places first to first+n-1 of l, in l's order.
func slotsOf(l domain.StatusList, first, n int) ([]domain.StatusSlot, error) {
	out := make([]domain.StatusSlot, n)
	for i := range out {
		index, err := statuslist.Index(l.Key, l.Size, first+i)
		if err != nil {
			return nil, err
		}
		out[i] = domain.StatusSlot{List: l.ID, Index: index}
	}
	return out, nil
}

// newList returns org's list number seq with its first n places taken,
// its documents signed with every entry clear.
func (s *Service) newList(ctx context.Context, org domain.Organization, signer *signing.Signer, seq, n int) (domain.StatusList, error) {
	now := s.now()
	l := domain.StatusList{ID: domain.NewID(), OrgID: org.ID, Seq: seq, Size: statuslist.Size, Allocated: n,
		Key: make([]byte, statuslist.KeySize), PublishedAt: now, CreatedAt: now}
	if _, err := rand.Read(l.Key); err != nil {
		return domain.StatusList{}, err
	}
	proof, err := s.listProver(ctx, org)
	if err != nil {
		return domain.StatusList{}, err
	}
	docs, err := s.listDocuments(org, signer, proof, l, nil, nil, now)
	l.Revocation, l.Suspension, l.RevocationProof, l.SuspensionProof = docs.Revocation, docs.Suspension, docs.RevocationProof, docs.SuspensionProof
	return l, err
}

// listDocuments signs l's two status list credentials with the bits of
// the places revoked and suspended, and makes their Data Integrity proofs
// with proof (when not nil).
func (s *Service) listDocuments(org domain.Organization, signer *signing.Signer, proof *prover, l domain.StatusList, revoked, suspended []int, now time.Time) (domain.StatusList, error) {
	var docs, proofs [2]string
	for i, set := range [][]int{revoked, suspended} {
		purpose := statuslist.Purposes[i]
		bits := statuslist.NewBitstring(l.Size)
		for _, index := range set {
			if index < 0 || index >= l.Size {
				return domain.StatusList{}, fmt.Errorf("status list %s: a credential holds place %d, outside the list", l.ID, index)
			}
			bits.Set(index)
		}
		payload, err := jsonMarshal(statuslist.NewCredential(s.urls.StatusList(l.ID, purpose), s.urls.DID(org.Slug), purpose, bits, now))
		if err != nil {
			return domain.StatusList{}, err
		}
		if docs[i], err = signer.Sign(payload); err != nil {
			return domain.StatusList{}, err
		}
		if proofs[i], err = s.prove(proof, payload, now); err != nil {
			return domain.StatusList{}, err
		}
	}
	return domain.StatusList{Revocation: docs[0], Suspension: docs[1], RevocationProof: proofs[0], SuspensionProof: proofs[1]}, nil
}

// statusChanged marks, in the transaction at hand, the status lists of
// the credentials whose revocation or suspension changed, and returns
// their IDs for the relay once it commits.
func (s *Service) statusChanged(ctx context.Context, cs ...domain.Credential) ([]string, error) {
	var ids []string
	for _, c := range cs {
		if c.Slot != nil {
			ids = append(ids, c.Slot.List)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return ids, s.store.StatusLists().Changed(ctx, s.now().Add(work.RelayGrace), ids...)
}

// PublishStatusList builds the list's documents from its credentials as
// they are now and stores them, signed with the organization's active
// key, unless they are current already. The list's version is read
// before its entries, so a change committed meanwhile is either in these
// documents or publishes them again.
func (s *Service) PublishStatusList(ctx context.Context, id string) error {
	l, err := s.store.StatusLists().Get(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		s.log.WarnContext(ctx, "no status list to publish", "list", id)
		return nil
	}
	if err != nil || l.Published >= l.Version {
		return err
	}
	revoked, suspended, err := s.store.StatusLists().Entries(ctx, id)
	if err != nil {
		return err
	}
	org, err := s.store.Orgs().Get(ctx, l.OrgID)
	if err != nil {
		return err
	}
	key, err := s.store.SigningKeys().Active(ctx, org.ID)
	if err != nil {
		return fmt.Errorf("publish status list %s: %w", id, err)
	}
	signer, err := s.signer(key, org.Slug)
	if err != nil {
		return err
	}
	proof, err := s.listProver(ctx, org)
	if err != nil {
		return err
	}
	now := s.now()
	docs, err := s.listDocuments(org, signer, proof, l, revoked, suspended, now)
	if err != nil {
		return err
	}
	if _, err := s.store.StatusLists().Publish(ctx, id, l.Version, docs, now); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "status list published", "list", id, "version", l.Version, "revoked", len(revoked), "suspended", len(suspended))
	return nil
}

// HandlePublish is the queue's handler of work.KindStatusList.
func (s *Service) HandlePublish(ctx context.Context, t ports.Task) error {
	var task work.StatusListTask
	if err := json.Unmarshal(t.Payload, &task); err != nil {
		return fmt.Errorf("status list task: %w", err)
	}
	var errs []error
	for _, id := range task.IDs {
		errs = append(errs, s.PublishStatusList(ctx, id))
	}
	return errors.Join(errs...)
}

// StatusListDocument returns the published status list credential at
// /status-lists/<listID>: the compact JWS, and its Data Integrity proof
// (JSON; "" without one).
func (s *Service) StatusListDocument(ctx context.Context, listID string) (jws, proof string, err error) {
	cut := strings.LastIndexByte(listID, '-')
	if cut < 0 {
		return "", "", fmt.Errorf("status list %q: %w", listID, domain.ErrNotFound)
	}
	purpose, ok := statuslist.ParsePurpose(listID[cut+1:])
	if !ok || !domain.ControlFree(listID, false) || len(listID) > 100 {
		return "", "", fmt.Errorf("status list %q: %w", listID, domain.ErrNotFound)
	}
	l, err := s.store.StatusLists().Get(ctx, listID[:cut])
	if err != nil {
		return "", "", err
	}
	if purpose == statuslist.Revocation {
		return l.Revocation, l.RevocationProof, nil
	}
	return l.Suspension, l.SuspensionProof, nil
}

// StatusListJSON is the JSON view of a status list credential: its
// payload, with its Data Integrity proof embedded when it has one.
func StatusListJSON(jws, proof string) ([]byte, error) {
	_, payload, err := signing.Parse([]byte(jws))
	if err != nil {
		return nil, err
	}
	return embedProof(payload, proof)
}

// statusCheck is the revocation check of a stored credential: what the
// record says, and what the issuer's published status lists say, read as
// any verifier reads them (the signature with the issuer's key, the list's
// identity and purpose, the bit). A list that cannot be read makes the
// answer unknown, never "not revoked".
func (s *Service) statusCheck(ctx context.Context, c domain.Credential, org domain.Organization, listVersion int64, active *string) domain.Check {
	if c.RevokedAt != nil {
		return domain.Check{Name: domain.CheckRevocation, Outcome: domain.ResultRevoked,
			Detail: fmt.Sprintf("revoked on %s: %s", c.RevokedAt.Format(time.RFC3339), c.RevocationReason)}
	}
	suspendedCheck := func() domain.Check {
		return domain.Check{Name: domain.CheckRevocation, Outcome: domain.ResultSuspended,
			Detail: fmt.Sprintf("suspended on %s: %s", c.SuspendedAt.Format(time.RFC3339), c.SuspensionReason)}
	}
	if c.Slot == nil {
		if c.SuspendedAt != nil {
			return suspendedCheck()
		}
		return domain.Check{Name: domain.CheckRevocation, OK: true,
			Detail: "not revoked (issued before status lists: only Credence publishes its status)"}
	}
	revoked, revErr := s.listBit(ctx, org, *c.Slot, statuslist.Revocation, listVersion, active)
	suspended, susErr := s.listBit(ctx, org, *c.Slot, statuslist.Suspension, listVersion, active)
	switch {
	case revoked:
		return domain.Check{Name: domain.CheckRevocation, Outcome: domain.ResultRevoked,
			Detail: "revoked: the issuer's published status list marks it revoked"}
	case c.SuspendedAt != nil:
		return suspendedCheck()
	case suspended:
		return domain.Check{Name: domain.CheckRevocation, Outcome: domain.ResultSuspended,
			Detail: "suspended: the issuer's published status list marks it suspended"}
	case revErr != nil:
		return domain.Check{Name: domain.CheckRevocation, Outcome: domain.ResultUnknown,
			Detail: "unknown: the issuer's revocation list could not be read: " + revErr.Error()}
	case susErr != nil:
		return domain.Check{Name: domain.CheckRevocation, Outcome: domain.ResultUnknown,
			Detail: "unknown: the issuer's suspension list could not be read: " + susErr.Error()}
	}
	return domain.Check{Name: domain.CheckRevocation, OK: true,
		Detail: "not revoked or suspended: the issuer's record and its published status lists agree"}
}

// listBit reads the credential's bit of its published status list of
// purpose (a compact JWS), as a verifier that fetched it does: signed by
// a key of org, naming itself by the URL the credential's entry gives,
// issued by org's DID, for purpose. A list read is kept with the version
// it was published at, as a verifier keeps one with its ETag: the next
// verification of a credential in it, told the list's version with the
// record, reads it again only when the list was published again.
func (s *Service) listBit(ctx context.Context, org domain.Organization, slot domain.StatusSlot, purpose statuslist.Purpose, version int64, active *string) (bool, error) {
	key := listKey{slot.List, purpose}
	if m, ok := s.caches.lists.get(key); ok && m.version == version && m.orgID == org.ID {
		return m.bits.Get(slot.Index)
	}
	url := s.urls.StatusList(slot.List, purpose)
	l, err := s.store.StatusLists().Get(ctx, slot.List)
	if errors.Is(err, domain.ErrNotFound) {
		return false, errors.New("no list is published at " + url)
	}
	if err != nil {
		return false, fmt.Errorf("the list at %s could not be read", url)
	}
	jws := l.Revocation
	if purpose == statuslist.Suspension {
		jws = l.Suspension
	}
	bits, err := s.readList(ctx, org, url, jws, purpose, active)
	if err != nil {
		return false, err
	}
	s.caches.lists.put(key, &listMemo{version: l.Published, orgID: org.ID, bits: bits})
	return bits.Get(slot.Index)
}

// readList checks a published status list (a compact JWS) found at url.
func (s *Service) readList(ctx context.Context, org domain.Organization, url, jws string, purpose statuslist.Purpose, active *string) (statuslist.Bitstring, error) {
	if jws == "" {
		return nil, errors.New("no list is published at " + url)
	}
	tok, err := signing.ParseToken([]byte(jws))
	if err != nil {
		return nil, errors.New("the list is not a compact JWS")
	}
	did, fragment, ok := signing.SplitKeyID(tok.Header.KID)
	if !ok || did != s.urls.DID(org.Slug) || !domain.ControlFree(fragment, false) {
		return nil, fmt.Errorf("the list is signed with %q, not a key of %s", tok.Header.KID, org.Name)
	}
	pub, _, err := s.issuerKey(ctx, org, fragment, active)
	if err != nil || pub == nil {
		return nil, fmt.Errorf("the key %q of the list is not published by %s", tok.Header.KID, org.Name)
	}
	payload, err := pub.Verify(tok)
	if err != nil {
		return nil, fmt.Errorf("the list's signature does not verify with %s", tok.Header.KID)
	}
	return statuslist.Read(payload, url, s.urls.DID(org.Slug), purpose, s.clock.Now())
}

// listKey names a published status list: a list and a purpose.
type listKey struct {
	list    string
	purpose statuslist.Purpose
}

// listMemo is a status list read and checked, kept with the version it
// was published at.
type listMemo struct {
	version int64
	orgID   string
	bits    statuslist.Bitstring
}
