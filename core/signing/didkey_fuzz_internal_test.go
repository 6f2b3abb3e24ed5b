package signing

import (
	"errors"
	"testing"
)

// FuzzResolveDIDKey: no input panics; every identifier that resolves is
// the one did:key of the key it resolves to (so one key never has two
// spellings, and a holder's DID compares as a string); every other is
// refused as invalid or unsupported.
func FuzzResolveDIDKey(f *testing.F) {
	for _, seed := range []string{
		"did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
		"did:key:z6Mkf5rGMoatrSj1f4CyvuHBeXJELe9RPdzo2PKGNCKVtZxP",
		"did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv",
		"did:key:zDnaeTQKDbXQT4batxKcnMQYQ8JynjqC5Xz1uMk5euG2ht8nq",
		"did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
		"did:key:z82LkvCwHNreneWpsgPEbV3gu1C6NFJEBg4srfJ5gdxEsMGRJUz2sG9FE42shbn2xkZJh54",
		"did:key:z1116MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
		"did:key:z",
		"did:key:",
		"did:key:1:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, did string) {
		k, err := ResolveDIDKey(did)
		if err != nil {
			if !errors.Is(err, ErrDIDKeyInvalid) && !errors.Is(err, ErrDIDKeyUnsupported) {
				t.Fatalf("%q: an error of no kind: %v", did, err)
			}
			return
		}
		again, err := DIDKey(k.raw)
		if err != nil || again != did {
			t.Fatalf("%q resolves to a key whose did:key is %q (%v)", did, again, err)
		}
	})
}
