package credentials

import (
	"bytes"
	"encoding/json"
)

// jsonMarshal encodes without HTML escaping, so URLs with & stay readable
// in the signed bytes.
func jsonMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
