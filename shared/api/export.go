package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
)

// exportJobs serves GET /api/v1/jobs/export: the definitions of the jobs of one namespace
// (?namespace=) or of every namespace the caller may read, as {"jobs": [...]} in JSON or, for
// Accept: application/yaml, YAML. It streams: the jobs are read a page at a time from one
// snapshot and written as they come, so an export of any size holds one page in memory.
func (s *Server) exportJobs(w http.ResponseWriter, r *http.Request) {
	asYAML, ok := acceptsYAML(r.Header.Get("Accept"))
	if !ok {
		writeProblem(w, problem{Status: http.StatusNotAcceptable, Detail: "an export is written as application/json or application/yaml",
			Errors: []domain.FieldError{{Field: "Accept", Reason: "names neither application/json nor application/yaml"}}})
		return
	}
	var namespaces []string
	if ns := r.URL.Query().Get("namespace"); ns != "" {
		if !domain.ValidNamespace(ns) {
			writeError(w, r, s.log, &domain.ValidationError{Fields: []domain.FieldError{{Field: "namespace", Reason: quoted(printable(ns, 80)) + " is not a namespace name"}}})
			return
		}
		if !s.allow(w, r, domain.PermJobRead, ns) {
			return
		}
		namespaces = []string{ns}
	} else if all, list := identityOf(r).Namespaces(domain.PermJobRead); !all {
		namespaces = append([]string{}, list...)
	}
	out := &exportWriter{w: w, yaml: asYAML}
	err := s.jobs.Export(r.Context(), namespaces, out.page)
	if err == nil {
		err = out.end()
	}
	switch {
	case err == nil:
	case !out.started:
		writeError(w, r, s.log, err)
	case errors.Is(err, errClientGone):
		panic(http.ErrAbortHandler)
	default:
		// Half a document must not pass for a whole one, least of all in YAML, where a cut list
		// still parses: the connection is dropped, and the client sees the export fail.
		s.log.ErrorContext(r.Context(), "export failed after it started", "request_id", r.Header.Get(requestIDHeader), "error", err)
		panic(http.ErrAbortHandler)
	}
}

// acceptsYAML reads Accept: yaml when application/yaml is preferred to JSON; ok is false when
// neither is acceptable.
func acceptsYAML(accept string) (yaml, ok bool) {
	if strings.TrimSpace(accept) == "" {
		return false, true
	}
	qJSON, qYAML := -1.0, -1.0
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		switch mt {
		case "application/json", "application/*", "*/*":
			qJSON = max(qJSON, q)
		case mediaYAML:
			qYAML = max(qYAML, q)
		}
	}
	switch {
	case qYAML > 0 && qYAML > qJSON:
		return true, true
	case qJSON > 0:
		return false, true
	}
	return false, false
}

// exportWriter writes {"jobs": [...]} a page at a time.
// exportDocument is what an export writes, page by page (exportWriter), and what an apply reads
// back (applyDocument).
type exportDocument struct {
	Jobs []jobs.Definition `json:"jobs"`
}

type exportWriter struct {
	w       http.ResponseWriter
	yaml    bool
	started bool
}

// page writes the definitions of one page; the first starts the response.
func (e *exportWriter) page(defs []jobs.Definition) error {
	var buf bytes.Buffer
	if !e.started {
		e.header()
		if e.yaml {
			buf.WriteString("jobs:\n")
		} else {
			buf.WriteString(`{"jobs":[`)
		}
	} else if !e.yaml {
		buf.WriteByte(',')
	}
	if e.yaml {
		if err := writeYAMLItems(&buf, defs); err != nil {
			return err
		}
	} else {
		for i, d := range defs {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := encodeJSON(&buf, d); err != nil {
				return err
			}
		}
	}
	e.started = true
	if _, err := e.w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("%w: %w", errClientGone, err)
	}
	return nil
}

// errClientGone is a write to a client that is no longer there: nothing to log.
var errClientGone = errors.New("export: the client went away")

// end closes the document (an empty one when no page came).
func (e *exportWriter) end() error {
	var err error
	switch {
	case !e.started:
		e.header()
		e.started = true
		if e.yaml {
			_, err = e.w.Write([]byte("jobs: []\n"))
		} else {
			_, err = e.w.Write([]byte("{\"jobs\":[]}\n"))
		}
	case !e.yaml:
		_, err = e.w.Write([]byte("]}\n"))
	}
	return err
}

func (e *exportWriter) header() {
	ct := "application/json"
	if e.yaml {
		ct = mediaYAML
	}
	e.w.Header().Set("Content-Type", ct)
	e.w.Header().Set("Vary", "Accept")
	e.w.WriteHeader(http.StatusOK)
}

func encodeJSON(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // the encoder's newline
	return nil
}

// writeYAMLItems writes defs as the items of a block list.
func writeYAMLItems(buf *bytes.Buffer, defs []jobs.Definition) error {
	var js bytes.Buffer
	if err := encodeJSON(&js, defs); err != nil {
		return err
	}
	n, err := jsonToYAML(js.Bytes())
	if err != nil {
		return err
	}
	if n.Kind != yaml.SequenceNode {
		return errors.New("export: a page is not a list")
	}
	enc := yaml.NewEncoder(buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return err
	}
	return enc.Close()
}
