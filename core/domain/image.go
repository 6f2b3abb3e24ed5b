package domain

import "time"

// Image is an uploaded badge image or organization logo, decoded and
// re-encoded (no metadata survives), named by the SHA-256 of its bytes:
// the same picture uploaded twice is one image, and its URL never serves
// other bytes, so it can be cached for good.
type Image struct {
	Hash        string // lowercase hex SHA-256 of Data
	ContentType string // ImagePNG or ImageJPEG
	Data        []byte
	Width       int
	Height      int
	CreatedAt   time.Time
}

// The content types Credence stores images as.
const (
	ImagePNG  = "image/png"
	ImageJPEG = "image/jpeg"
)

// Ext is the file extension the image is served under: "png" or "jpg".
func (i Image) Ext() string {
	if i.ContentType == ImageJPEG {
		return "jpg"
	}
	return "png"
}
