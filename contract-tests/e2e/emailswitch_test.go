package e2e

import (
	"net/http"
	"testing"
)

// testEmailSwitch: an organization that switches recipient emails off
// sends no credential mail (nor a resend), while its members' own mail
// still goes out; switched on again, recipients are mailed.
func testEmailSwitch(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	oc := e.as(t, owner.Token)
	b := createBadge(oc, o.ID, 0)
	var got org
	oc.expect(http.StatusOK, http.MethodPatch, "/api/v1/orgs/"+o.ID, map[string]bool{"emailsEnabled": false}, &got)
	silent := uniqueEmail("silent")
	cr := issue(oc, o.ID, b.ID, "Sid Silent", silent)
	oc.expectProblem(http.StatusConflict, "INVALID_STATE", http.MethodPost, "/api/v1/orgs/"+o.ID+"/credentials/"+cr.ID+"/resend", nil)

	// Member mail still flows: an invitation arrives.
	invitee := uniqueEmail("member")
	oc.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+o.ID+"/members", map[string]string{"email": invitee, "role": "viewer"}, nil)
	e.latestMail(t, invitee, "You are invited to join")

	oc.expect(http.StatusOK, http.MethodPatch, "/api/v1/orgs/"+o.ID, map[string]bool{"emailsEnabled": true}, &got)
	loud := uniqueEmail("loud")
	issue(oc, o.ID, b.ID, "Lou Loud", loud)
	e.latestMail(t, loud, "") // mail is flowing; the silent credential queued none at all
	if n := len(e.mails(t, silent)); n != 0 {
		t.Errorf("%d mails to a recipient of an organization with emails off", n)
	}
}
