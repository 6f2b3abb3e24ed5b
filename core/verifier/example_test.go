package verifier_test

import (
	"fmt"
	"log"
	"os"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/verifier"
)

// A Go program checks a credential file a recipient sent, with the keys
// its issuer publishes (saved from
// https://credentials.example.com/issuers/acme/jwks.json; the did.json
// next to it works the same). The issuer has rotated its keys since it
// signed this credential: the retired key stays published and verifies.
func Example() {
	keys, err := os.ReadFile("testdata/jwks.json")
	if err != nil {
		log.Fatal(err)
	}
	// NewFor: these must be Acme's keys, not keys of anyone who copied
	// its name.
	v, err := verifier.NewFor(keys, "did:web:credentials.example.com:issuers:acme")
	if err != nil {
		log.Fatal(err)
	}
	file, err := os.ReadFile("testdata/acme.jwt")
	if err != nil {
		log.Fatal(err)
	}
	res, err := v.Verify(file)
	if err != nil {
		log.Fatal(err) // not a compact JWS at all
	}
	fmt.Println("issuer:", v.Issuer())
	fmt.Println("credential:", res.Credential, "issued to", res.Document.CredentialSubject.Name)
	fmt.Println("result:", res.Result)
	for _, c := range res.Checks {
		fmt.Printf("  %-10s ok=%-5v %s\n", c.Name, c.OK, c.Detail)
	}
	if res.Result == domain.ResultValid {
		fmt.Println("genuine; ask", res.VerifyURL, "whether it is revoked")
	}
	// Output:
	// issuer: did:web:credentials.example.com:issuers:acme
	// credential: CRD-QBTEUH3T issued to Rae Recipient
	// result: valid
	//   signature  ok=true  signed by did:web:credentials.example.com:issuers:acme#key-1 (ES256 key published by the issuer)
	//   integrity  ok=true  the signed document is a well-formed Open Badges 3.0 credential; the issuer's record is not consulted offline
	//   expiry     ok=true  never expires
	//   revocation ok=false unknown offline: only the issuer knows whether it revoked the credential; it answers at https://credentials.example.com/verify/CRD-QBTEUH3T
	//   issuer     ok=true  issued by Acme Academy (did:web:credentials.example.com:issuers:acme), whose published key signed it; its standing and domain are known only online
	// genuine; ask https://credentials.example.com/verify/CRD-QBTEUH3T whether it is revoked
}
