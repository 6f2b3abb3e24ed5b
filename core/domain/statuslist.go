package domain

import "time"

// StatusList is one of an organization's status lists: Size places handed
// out to its credentials in the order Key gives (core/statuslist.Index),
// published as one signed status list credential per purpose.
//
// Version counts the changes to its credentials' revocation and
// suspension, each marked in the transaction of the change; Published is
// the Version its documents were built from. A list whose Version is
// ahead of Published is due for publishing: the mark is the outbox row.
type StatusList struct {
	ID        string
	OrgID     string
	Seq       int // 1 for the organization's first list, then 2, …
	Size      int
	Allocated int // places handed out, from 0
	Key       []byte
	Version   int64
	Published int64
	// The published documents: compact JWS of the revocation and the
	// suspension list credentials, signed at PublishedAt.
	Revocation string
	Suspension string
	// Their embedded Data Integrity proofs (JSON), when the organization
	// has them on; "" otherwise.
	RevocationProof string
	SuspensionProof string
	PublishedAt     time.Time
	CreatedAt       time.Time
}
