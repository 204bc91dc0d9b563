package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// jsonParser is a koanf.Parser for JSON files. It keeps numbers as json.Number so that an int
// setting is not routed through float64 and 1.5 is not silently truncated to 1.
type jsonParser struct{}

// Unmarshal parses b, which must hold one JSON object.
func (jsonParser) Unmarshal(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, errors.New("want an object of settings at the top level")
		}
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the top-level object")
	}
	return out, nil
}

// Marshal encodes m as JSON.
func (jsonParser) Marshal(m map[string]any) ([]byte, error) { return json.Marshal(m) }
