package domain_test

import (
	"testing"

	"github.com/credence-dev/credence/core/domain"
)

const (
	Y = true
	N = false
)

// permissionMatrix is DESIGN.md's permission rule written out as a table:
// owner everything; admin all but signing keys, API keys, billing, domain
// verification and owner changes; issuer issues and creates badges but
// cannot edit/delete them or revoke; viewer reads; an API key has issuer
// rights plus revoke.
var permissionMatrix = []struct {
	perm                                 domain.Permission
	owner, admin, issuer, viewer, apiKey bool
}{
	{domain.PermOrgRead, Y, Y, Y, Y, Y},
	{domain.PermOrgUpdate, Y, Y, N, N, N},
	{domain.PermSigningKeys, Y, N, N, N, N},
	{domain.PermAPIKeys, Y, N, N, N, N},
	{domain.PermBilling, Y, N, N, N, N},
	{domain.PermDomain, Y, N, N, N, N},
	{domain.PermMembersRead, Y, Y, Y, Y, Y},
	{domain.PermMembersInvite, Y, Y, N, N, N},
	{domain.PermMembersRemove, Y, Y, N, N, N},
	{domain.PermOwnersManage, Y, N, N, N, N},
	{domain.PermBadgeRead, Y, Y, Y, Y, Y},
	{domain.PermBadgeCreate, Y, Y, Y, N, Y},
	{domain.PermBadgeEdit, Y, Y, N, N, N},
	{domain.PermIssue, Y, Y, Y, N, Y},
	{domain.PermRevoke, Y, Y, N, N, Y},
	// DESIGN.md is silent on resending; this row pins the code's choice
	// (owner and admin only).
	{domain.PermResend, Y, Y, N, N, N},
	{domain.PermCredentialsRead, Y, Y, Y, Y, Y},
	{domain.PermUsageRead, Y, Y, Y, Y, Y},
}

func TestPermissionMatrixIsComplete(t *testing.T) {
	t.Parallel()
	seen := map[domain.Permission]bool{}
	for _, row := range permissionMatrix {
		if row.perm == "" || seen[row.perm] {
			t.Errorf("permission %q empty or listed twice", row.perm)
		}
		seen[row.perm] = true
	}
	if len(seen) != 18 {
		t.Errorf("matrix has %d permissions, want the 18 of member.go", len(seen))
	}
}

func TestRoleCan(t *testing.T) {
	t.Parallel()
	for _, row := range permissionMatrix {
		for _, rc := range []struct {
			role domain.Role
			want bool
		}{
			{domain.RoleOwner, row.owner},
			{domain.RoleAdmin, row.admin},
			{domain.RoleIssuer, row.issuer},
			{domain.RoleViewer, row.viewer},
			{domain.Role("superuser"), false},
			{domain.Role(""), false},
			{domain.Role("Owner"), false},
		} {
			t.Run(string(rc.role)+"/"+string(row.perm), func(t *testing.T) {
				t.Parallel()
				if got := domain.RoleCan(rc.role, row.perm); got != rc.want {
					t.Errorf("RoleCan(%q, %q) = %v, want %v", rc.role, row.perm, got, rc.want)
				}
			})
		}
	}
}

func TestAPIKeyCan(t *testing.T) {
	t.Parallel()
	for _, row := range permissionMatrix {
		t.Run(string(row.perm), func(t *testing.T) {
			t.Parallel()
			if got := domain.APIKeyCan(row.perm); got != row.apiKey {
				t.Errorf("APIKeyCan(%q) = %v, want %v", row.perm, got, row.apiKey)
			}
		})
	}
}

// TestRoleHierarchy checks the matrix's shape independently of the table:
// each role holds everything the next one down holds, and an API key
// holds exactly the issuer's rights plus revoke.
func TestRoleHierarchy(t *testing.T) {
	t.Parallel()
	order := []domain.Role{domain.RoleOwner, domain.RoleAdmin, domain.RoleIssuer, domain.RoleViewer}
	for _, row := range permissionMatrix {
		for i := 1; i < len(order); i++ {
			if domain.RoleCan(order[i], row.perm) && !domain.RoleCan(order[i-1], row.perm) {
				t.Errorf("%s can %s but %s cannot", order[i], row.perm, order[i-1])
			}
		}
		want := domain.RoleCan(domain.RoleIssuer, row.perm) || row.perm == domain.PermRevoke
		if got := domain.APIKeyCan(row.perm); got != want {
			t.Errorf("APIKeyCan(%s) = %v, want issuer rights plus revoke (%v)", row.perm, got, want)
		}
	}
}

func TestUnknownPermission(t *testing.T) {
	t.Parallel()
	for _, r := range []domain.Role{domain.RoleOwner, domain.RoleAdmin, domain.RoleIssuer, domain.RoleViewer} {
		if domain.RoleCan(r, "everything") || domain.RoleCan(r, "") {
			t.Errorf("%s holds an unknown permission", r)
		}
	}
	if domain.APIKeyCan("everything") || domain.APIKeyCan("") {
		t.Error("an API key holds an unknown permission")
	}
}

func TestValidRole(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		role domain.Role
		want bool
	}{
		{domain.RoleOwner, true},
		{domain.RoleAdmin, true},
		{domain.RoleIssuer, true},
		{domain.RoleViewer, true},
		{"", false},
		{"OWNER", false},
		{"member", false},
		{" owner", false},
	} {
		if got := domain.ValidRole(tc.role); got != tc.want {
			t.Errorf("ValidRole(%q) = %v, want %v", tc.role, got, tc.want)
		}
	}
}
