package jsonld

import (
	"bytes"

	"github.com/piprate/json-gold/ld"
)

// AddContext bundles one more context, for tests (the specification's
// example vectors name the VCDM examples context).
func (c *Canonicalizer) AddContext(url string, doc []byte) error {
	d, err := ld.DocumentFromReader(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	c.loader.AddDocument(url, d)
	return nil
}
