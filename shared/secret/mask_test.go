package secret

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestMaskHidesEveryForm(t *testing.T) {
	t.Parallel()
	m := NewMasker([]string{"p@ss w0rd/\"x\"", "abc"})
	for _, echoed := range []string{
		`{"password":"p@ss w0rd/\"x\""}`,
		"token=" + url.QueryEscape(`p@ss w0rd/"x"`),
		"Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(`p@ss w0rd/"x"`)),
	} {
		got := m.Mask(echoed)
		require.NotContains(t, got, "w0rd", echoed)
		require.Contains(t, got, Masked)
	}
	require.Equal(t, "abc stays: too short to be a secret", m.Mask("abc stays: too short to be a secret"))
}

func TestMaskedTextNeverHoldsTheSecret(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		secret := rapid.StringMatching(`[A-Za-z0-9!@#$%^&*()_+ ]{4,40}`).Draw(t, "secret")
		before := rapid.String().Draw(t, "before")
		after := rapid.String().Draw(t, "after")
		got := NewMasker([]string{secret}).Mask(before + secret + after + secret)
		require.False(t, strings.Contains(got, secret), "masked text %q still holds %q", got, secret)
	})
}

func TestMaskHidesASecretCutByALengthLimit(t *testing.T) {
	t.Parallel()
	m := NewMasker([]string{"correct-horse-battery"})
	require.Equal(t, "token: "+Masked, m.Mask("token: correct-hor"))
	require.Equal(t, "ends with cor", m.Mask("ends with cor"), "three bytes are too few to tell")
}
