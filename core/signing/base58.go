package signing

import "errors"

// base58Alphabet is the Bitcoin alphabet of base58btc, the multibase
// encoding (prefix "z") of did:key identifiers and Multikeys.
const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// maxBase58Len bounds what DecodeBase58 reads: decoding is quadratic in
// the length, and no key Credence reads is near it (a P-256 did:key is 49
// characters).
const maxBase58Len = 256

var errBase58 = errors.New("not base58btc")

// base58Index maps a byte to its digit, or -1.
var base58Index = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := range len(base58Alphabet) {
		t[base58Alphabet[i]] = int8(i)
	}
	return t
}()

// DecodeBase58 decodes base58btc: each leading '1' is a zero byte, the
// rest a big-endian number. Every byte string has exactly one encoding, so
// one key has exactly one did:key.
func DecodeBase58(s string) ([]byte, error) {
	if len(s) == 0 || len(s) > maxBase58Len {
		return nil, errBase58
	}
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	// log(58)/log(256) < 0.733: the number's bytes, little-endian.
	num := make([]byte, 0, len(s)*733/1000+1)
	for i := zeros; i < len(s); i++ {
		d := base58Index[s[i]]
		if d < 0 {
			return nil, errBase58
		}
		carry := int(d)
		for j := range num {
			carry += int(num[j]) * 58
			num[j] = byte(carry)
			carry >>= 8
		}
		for carry > 0 {
			num = append(num, byte(carry))
			carry >>= 8
		}
	}
	out := make([]byte, zeros, zeros+len(num))
	for i := len(num) - 1; i >= 0; i-- {
		out = append(out, num[i])
	}
	return out, nil
}

// EncodeBase58 is the inverse of DecodeBase58.
func EncodeBase58(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	// log(256)/log(58) < 1.366: the digits, little-endian.
	digits := make([]byte, 0, (len(b)-zeros)*1366/1000+1)
	for _, v := range b[zeros:] {
		carry := int(v)
		for j := range digits {
			carry += int(digits[j]) << 8
			digits[j] = byte(carry % 58)
			carry /= 58
		}
		for carry > 0 {
			digits = append(digits, byte(carry%58))
			carry /= 58
		}
	}
	out := make([]byte, 0, zeros+len(digits))
	for range zeros {
		out = append(out, '1')
	}
	for i := len(digits) - 1; i >= 0; i-- {
		out = append(out, base58Alphabet[digits[i]])
	}
	return string(out)
}
