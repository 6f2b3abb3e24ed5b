package images

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/credence-dev/credence/core/access"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// Store is what the image service persists: the images, and the badges
// and organizations that show them. *sqlstore.Store satisfies it, as does
// any ports.Store.
type Store interface {
	ports.Transactor
	Orgs() ports.Orgs
	Badges() ports.Badges
	Images() ports.Images
	Activity() ports.ActivityLog
}

// Service runs the image use cases.
type Service struct {
	store Store
	clock ports.Clock
	guard access.Guard
	base  *url.URL
}

// New returns an image service whose images are served under base
// (the public URL).
func New(store Store, clock ports.Clock, plans domain.Plans, base *url.URL) *Service {
	return &Service{store: store, clock: clock, guard: access.Guard{Store: store, Plans: plans}, base: base}
}

func (s *Service) now() time.Time { return domain.Truncate(s.clock.Now()) }

// PathPrefix is where images are served: PathPrefix + hash + "." + ext.
const PathPrefix = "/images/"

// URL is img's permanent public URL.
func (s *Service) URL(img domain.Image) string { return URL(s.base, img.Hash, img.Ext()) }

// URL is the public URL, under base, of the image with hash and extension.
func URL(base *url.URL, hash, ext string) string {
	b := *base
	b.Path = strings.TrimRight(b.Path, "/") + PathPrefix + hash + "." + ext
	b.RawPath, b.RawQuery, b.Fragment = "", "", ""
	return b.String()
}

// HostedHash returns the hash of the image u names when u is an image URL
// under base (a hosted image), and false for any other URL (an external
// image).
func HostedHash(base *url.URL, u string) (string, bool) {
	prefix := URL(base, "", "")
	name, ok := strings.CutPrefix(u, strings.TrimSuffix(prefix, "."))
	if !ok {
		return "", false
	}
	hash, ext, ok := strings.Cut(name, ".")
	return hash, ok && validHash(hash) && (ext == "png" || ext == "jpg")
}

func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for _, c := range h {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// SetBadgeImage makes the uploaded image (data, declared as contentType)
// the badge's image (badge edit permission). The image URL is signed into
// every credential of the badge (achievement.image), so a badge that has
// issued credentials refuses a different image with BADGE_LOCKED, as it
// refuses any edit of a signed field; uploading the same picture again is
// no change.
func (s *Service) SetBadgeImage(ctx context.Context, actor domain.Actor, orgID, badgeID string, data []byte, contentType string) (domain.Badge, error) {
	if err := access.Check(actor, orgID); err != nil {
		return domain.Badge{}, err
	}
	img, err := Normalize(data, contentType)
	if err != nil {
		return domain.Badge{}, err
	}
	img.CreatedAt = s.now()
	u := s.URL(img)
	var out domain.Badge
	err = s.store.WithinTx(ctx, func(ctx context.Context) error {
		if _, err := s.guard.Org(ctx, actor, orgID, domain.PermBadgeEdit); err != nil {
			return err
		}
		if !domain.IsID(badgeID) {
			return domain.Errorf(domain.CodeNotFound, "no badge %q", badgeID)
		}
		b, err := s.store.Badges().Get(ctx, orgID, badgeID)
		if err != nil {
			return err
		}
		if err := b.Update(domain.BadgeInput{ImageURL: &u}, s.now()); err != nil {
			return err
		}
		if err := s.store.Images().Put(ctx, img); err != nil {
			return err
		}
		if err := s.store.Badges().Update(ctx, b); err != nil {
			return err
		}
		out = b
		return s.store.Activity().Record(ctx, domain.NewActivity(actor, orgID, domain.ActBadgeUpdated, "badge", b.ID, b.Name+": image uploaded", s.now()))
	})
	return out, err
}

// SetLogo makes the uploaded image the organization's logo (organization
// edit permission). The logo is not signed into credentials (the issuer
// profile they embed carries id, name and URL), so it can change at any
// time.
func (s *Service) SetLogo(ctx context.Context, actor domain.Actor, orgID string, data []byte, contentType string) (domain.Organization, error) {
	if err := access.Check(actor, orgID); err != nil {
		return domain.Organization{}, err
	}
	img, err := Normalize(data, contentType)
	if err != nil {
		return domain.Organization{}, err
	}
	img.CreatedAt = s.now()
	var out domain.Organization
	err = s.store.WithinTx(ctx, func(ctx context.Context) error {
		org, err := s.guard.Org(ctx, actor, orgID, domain.PermOrgUpdate)
		if err != nil {
			return err
		}
		if err := s.store.Images().Put(ctx, img); err != nil {
			return err
		}
		org.LogoURL, org.UpdatedAt = s.URL(img), s.now()
		if err := s.store.Orgs().Update(ctx, org); err != nil {
			return err
		}
		out = org
		return s.store.Activity().Record(ctx, domain.NewActivity(actor, orgID, domain.ActOrgUpdated, "organization", orgID, "logo uploaded", s.now()))
	})
	return out, err
}

// Get returns the image a file name under PathPrefix names
// ("<hash>.png" or "<hash>.jpg"); any other name, or an extension that is
// not the image's, is NOT_FOUND. Images are public: whoever has the URL
// sees the picture, as on any image host.
func (s *Service) Get(ctx context.Context, name string) (domain.Image, error) {
	hash, ext, ok := strings.Cut(name, ".")
	if !ok || !validHash(hash) {
		return domain.Image{}, domain.Errorf(domain.CodeNotFound, "no image %q", name)
	}
	img, err := s.store.Images().Get(ctx, hash)
	if err != nil {
		return domain.Image{}, err
	}
	if img.Ext() != ext {
		return domain.Image{}, domain.Errorf(domain.CodeNotFound, "no image %q", name)
	}
	return img, nil
}
