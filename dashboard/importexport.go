package dashboard

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"

	"github.com/vecron/vecron/shared/domain"
)

// maxImport bounds a document to import. The dashboard's forms are bounded (maxForm), and the
// confirmation posts the document again, so it must fit in one with room to spare; a larger one
// goes through `vecron jobs apply`, which takes what the API takes.
const maxImport = 48 << 10

// importView is the import page: the document, then its plan, then what the apply did.
type importView struct {
	Document string
	Prune    bool
	// CanPrune shows the prune option: to those who may delete jobs somewhere.
	CanPrune bool
	// Namespaces are those the document's jobs are in: what prune empties of unlisted jobs.
	Namespaces []string
	Problem    string
	Errors     []importError
	// Plan is the apply's plan: a dry run's (Confirm then carries the document to apply) or,
	// once Applied, what the apply did.
	Plan    []planView
	Confirm bool
	Digest  string
	Applied bool
	// Proposed says how many changes wait for another user's approval (four eyes).
	Proposed string
	// Counts sums the plan up by action.
	Counts string
}

// importError is a problem of one job of the document (Item ≥ 0, Name its name) or of the
// whole (Item -1).
type importError struct {
	// Item counts from 0, N from 1, as people count.
	Item, N int
	Name    string
	Field   string
	Reason  string
}

// planView is one job of a plan.
type planView struct {
	Namespace, Name, Action, ActionLabel, Icon string
	ID                                         string
	Diff                                       []diffView
}

// diffView is one field a change sets, old and new values as JSON.
type diffView struct{ Path, Old, New string }

// importPage serves the import form, to those who may write jobs somewhere.
func (ui *UI) importPage(w http.ResponseWriter, r *http.Request, sess *session) {
	iv, ok := ui.importAccess(w, r, sess)
	if !ok {
		return
	}
	v := ui.newView(r, sess, "import.title", "jobs", iv)
	ui.renderPage(w, http.StatusOK, v, importContent(v, iv))
}

// importAccess answers 403 to those who may write jobs nowhere, and otherwise returns the page
// with the prune option for those who may delete.
func (ui *UI) importAccess(w http.ResponseWriter, r *http.Request, sess *session) (*importView, bool) {
	m, err := ui.me(r, sess)
	if err != nil {
		ui.internal(w, r, sess, err)
		return nil, false
	}
	if names, all := m.writable(); len(names) == 0 && !all {
		ui.errorPage(w, r, sess, http.StatusForbidden, "import.forbidden")
		return nil, false
	}
	iv := &importView{}
	for _, perms := range m.Permissions {
		if slices.Contains(perms, domain.PermJobDelete) {
			iv.CanPrune = true
		}
	}
	return iv, true
}

// importPost plans the document (op=plan: an apply's dry run) or applies it (op=apply: the
// document the plan was shown for, carried in the confirmation form with its digest).
func (ui *UI) importPost(w http.ResponseWriter, r *http.Request, sess *session) {
	lang := langOf(r)
	iv, ok := ui.importAccess(w, r, sess)
	if !ok {
		return
	}
	iv.Prune = r.PostFormValue("prune") != ""
	apply := r.PostFormValue("op") == "apply"
	doc, err := importDocument(r)
	if err != nil {
		iv.Problem = ui.cat.tr(lang, "import.unreadable")
		v := ui.newView(r, sess, "import.title", "jobs", iv)
		ui.renderPage(w, http.StatusBadRequest, v, importContent(v, iv))
		return
	}
	iv.Document = doc
	if apply && !hmac.Equal([]byte(r.PostFormValue("digest")), []byte(importDigest(sess, doc, iv.Prune))) {
		// Not the document the plan was shown for: show its plan instead of applying it.
		apply = false
		iv.Problem = ui.cat.tr(lang, "import.replanned")
	}
	status := ui.planImport(r, sess, iv, apply)
	v := ui.newView(r, sess, "import.title", "jobs", iv)
	ui.renderPage(w, status, v, importContent(v, iv))
}

// importDocument returns the posted document: the uploaded file when there is one, else the
// text pasted. It fails when the file cannot be read.
func importDocument(r *http.Request) (string, error) {
	if r.MultipartForm != nil {
		if fhs := r.MultipartForm.File["file"]; len(fhs) > 0 && fhs[0].Size > 0 {
			doc, err := readUpload(fhs[0])
			return strings.ReplaceAll(doc, "\r\n", "\n"), err
		}
	}
	return strings.ReplaceAll(r.PostFormValue("document"), "\r\n", "\n"), nil
}

func readUpload(fh *multipart.FileHeader) (string, error) {
	f, err := fh.Open()
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxImport+1))
	return string(b), err
}

// importDigest binds a confirmation to the document and the prune choice its plan was shown
// for, under a secret of the session: the confirmation applies what was planned, or nothing.
func importDigest(sess *session, doc string, prune bool) string {
	m := hmac.New(sha256.New, []byte("vecron import\x00"+sess.csrf))
	fmt.Fprintf(m, "prune=%t\n", prune)
	m.Write([]byte(doc))
	return hex.EncodeToString(m.Sum(nil))
}

// planImport sends the document to the API's apply — a dry run unless apply — and fills iv
// with the plan, or with the problems of the document. It returns the status to answer.
func (ui *UI) planImport(r *http.Request, sess *session, iv *importView, apply bool) int {
	lang := langOf(r)
	if strings.TrimSpace(iv.Document) == "" {
		iv.Problem = ui.cat.tr(lang, "import.empty")
		return http.StatusUnprocessableEntity
	}
	if len(iv.Document) > maxImport {
		iv.Problem = ui.cat.tr(lang, "import.too_large", maxImport>>10)
		return http.StatusRequestEntityTooLarge
	}
	items, err := importItems([]byte(iv.Document))
	if err != nil {
		iv.Problem = ui.cat.tr(lang, "import.bad_document") + " " + err.Error()
		return http.StatusUnprocessableEntity
	}
	iv.Namespaces = itemNamespaces(items)
	body, err := applyBody(items, iv.Prune, !apply)
	if err != nil {
		iv.Problem = ui.cat.tr(lang, "import.bad_document") + " " + err.Error()
		return http.StatusUnprocessableEntity
	}
	res, err := ui.send(r, sess, http.MethodPost, "/api/v1/jobs/apply", "application/yaml", body, nil)
	if err != nil {
		iv.Problem = ui.cat.tr(lang, "error.internal")
		return http.StatusInternalServerError
	}
	if !res.ok() {
		p := res.problem()
		iv.Problem = ui.cat.tr(lang, "import.refused")
		switch p.Status {
		case http.StatusForbidden, http.StatusNotFound:
			iv.Problem = ui.cat.tr(lang, "error.forbidden")
		case http.StatusConflict:
			iv.Problem = ui.cat.tr(lang, "error.conflict")
		}
		if p.Detail != "" && len(p.Errors) == 0 {
			iv.Problem += " " + p.Detail
		}
		for _, fe := range p.Errors {
			iv.Errors = append(iv.Errors, itemError(items, fe))
		}
		return p.Status
	}
	var out struct {
		DryRun bool `json:"dry_run"`
		Plan   []struct {
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
			Action    string `json:"action"`
			ID        string `json:"id"`
			Diff      []struct {
				Path string `json:"path"`
				Old  any    `json:"old"`
				New  any    `json:"new"`
			} `json:"diff"`
		} `json:"plan"`
		Changes []domain.Change `json:"changes"`
	}
	if err := res.decode(&out); err != nil {
		iv.Problem = ui.cat.tr(lang, "error.internal")
		return http.StatusInternalServerError
	}
	counts := map[string]int{}
	for _, p := range out.Plan {
		pv := planView{Namespace: p.Namespace, Name: p.Name, Action: p.Action, ActionLabel: ui.actionLabel(lang, p.Action),
			Icon: actionIcon(p.Action)}
		if uuid.Validate(p.ID) == nil { // an id goes into a link only once it is one
			pv.ID = p.ID
		}
		for _, d := range p.Diff {
			pv.Diff = append(pv.Diff, diffView{Path: d.Path, Old: diffValue(d.Old), New: diffValue(d.New)})
		}
		counts[p.Action]++
		iv.Plan = append(iv.Plan, pv)
	}
	iv.Counts = strings.Join([]string{ui.cat.tr(lang, "import.count.create", counts["create"]),
		ui.cat.tr(lang, "import.count.update", counts["update"]), ui.cat.tr(lang, "import.count.delete", counts["delete"]),
		ui.cat.tr(lang, "import.count.unchanged", counts["unchanged"])}, " · ")
	if apply {
		iv.Applied = true
		if len(out.Changes) > 0 {
			iv.Proposed = ui.cat.tr(lang, "import.proposed", len(out.Changes))
		}
		return res.status
	}
	iv.Confirm = true
	iv.Digest = importDigest(sess, iv.Document, iv.Prune)
	return http.StatusOK
}

var itemPath = regexp.MustCompile(`^jobs\[(\d+)\]\.?(.*)$`)

// itemError names the job of the document an error of the API is about.
func itemError(items []*yaml.Node, fe domain.FieldError) importError {
	ie := importError{Item: -1, Field: fe.Field, Reason: fe.Reason}
	if m := itemPath.FindStringSubmatch(fe.Field); m != nil {
		i, _ := strconv.Atoi(m[1])
		ie.Item, ie.N, ie.Field = i, i+1, m[2]
		if i < len(items) {
			ie.Name = scalarOf(items[i], "name")
		}
	}
	return ie
}

// actionLabel names an action of a plan in lang.
func (ui *UI) actionLabel(lang, a string) string {
	switch a {
	case "create":
		return ui.cat.tr(lang, "import.action.create")
	case "update":
		return ui.cat.tr(lang, "import.action.update")
	case "delete":
		return ui.cat.tr(lang, "import.action.delete")
	case "unchanged":
		return ui.cat.tr(lang, "import.action.unchanged")
	}
	return a
}

func actionIcon(a string) string {
	switch a {
	case "create":
		return "+"
	case "update":
		return "✎"
	case "delete":
		return "✕"
	}
	return "="
}

// diffValue is a value of a diff as JSON text ("" for a field not set).
func diffValue(v any) string {
	if v == nil {
		return ""
	}
	return compactJSON(v)
}

// importItems returns the jobs of a document {"jobs": [...]} written in JSON or YAML (JSON is
// YAML), refusing anchors and aliases as the API does and anything but the jobs: prune is the
// page's choice, not the document's.
func importItems(b []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("it is neither JSON nor YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, errors.New(`it holds more than one document; give one {"jobs": [...]}`)
	}
	if len(doc.Content) == 0 {
		return nil, errors.New(`it is empty; give {"jobs": [...]}, as an export writes it`)
	}
	root := doc.Content[0]
	if err := plainNode(root, 0); err != nil {
		return nil, err
	}
	if root.Kind != yaml.MappingNode {
		return nil, errors.New(`it is not an object {"jobs": [...]}, as an export writes it`)
	}
	var jobs *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch {
		case k.Value == "jobs" && jobs == nil && v.Kind == yaml.SequenceNode:
			jobs = v
		case k.Value == "jobs":
			return nil, fmt.Errorf("line %d: jobs must be a list, given once", k.Line)
		default:
			return nil, fmt.Errorf("line %d: %q: a document to import holds only jobs", k.Line, clip(k.Value, 40))
		}
	}
	if jobs == nil {
		return nil, errors.New(`it has no jobs: give {"jobs": [...]}, as an export writes it`)
	}
	return jobs.Content, nil
}

// plainNode refuses anchors and aliases (a small document that expands into a huge one), and
// documents nested absurdly deep.
func plainNode(n *yaml.Node, depth int) error {
	if depth > 64 {
		return fmt.Errorf("line %d: nested deeper than 64 levels", n.Line)
	}
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return fmt.Errorf("line %d: a YAML anchor or alias; write the value out", n.Line)
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" && n.Value == "" {
		n.Value = "null" // `description:` left empty is null, as the API reads it
	}
	for _, c := range n.Content {
		if err := plainNode(c, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// scalarOf returns the text of item's key (an object's field), "" when it has none.
func scalarOf(item *yaml.Node, key string) string {
	if item.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(item.Content); i += 2 {
		if item.Content[i].Value == key && item.Content[i+1].Kind == yaml.ScalarNode {
			return item.Content[i+1].Value
		}
	}
	return ""
}

// itemNamespaces returns the namespaces the items are in (the default one for an item that
// names none): those an apply with prune empties of the jobs it does not list.
func itemNamespaces(items []*yaml.Node) []string {
	var out []string
	for _, it := range items {
		ns := strings.TrimSpace(scalarOf(it, "namespace"))
		if ns == "" || ns == "null" {
			ns = domain.DefaultNamespace
		}
		if !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	slices.Sort(out)
	return out
}

// applyBody is the YAML body of an apply of items: the API judges each value as it judges a
// document posted to it.
func applyBody(items []*yaml.Node, prune, dryRun bool) ([]byte, error) {
	str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
	boolean := func(b bool) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
	}
	if items == nil {
		items = []*yaml.Node{}
	}
	root := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		str("jobs"), {Kind: yaml.SequenceNode, Content: items},
		str("prune"), boolean(prune), str("dry_run"), boolean(dryRun),
	}}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// exportView is the export page: a namespace and a format to download.
type exportView struct {
	Namespace  string
	Namespaces []string
}

// export serves the export page, or with format=json or yaml the download of the job
// definitions of the namespace (every namespace the caller may read when none is given).
func (ui *UI) export(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	ns := strings.TrimSpace(q.Get("namespace"))
	format := q.Get("format")
	if format != "json" && format != "yaml" {
		ev := &exportView{Namespace: ns}
		if m, err := ui.me(r, sess); err == nil {
			for name, perms := range m.Permissions {
				if name != domain.AllNamespaces && slices.Contains(perms, domain.PermJobRead) {
					ev.Namespaces = append(ev.Namespaces, name)
				}
			}
			slices.Sort(ev.Namespaces)
		}
		v := ui.newView(r, sess, "export.title", "jobs", ev)
		ui.renderPage(w, http.StatusOK, v, exportContent(v, ev))
		return
	}
	path := "/api/v1/jobs/export"
	if ns != "" {
		path += "?" + url.Values{"namespace": {ns}}.Encode()
	}
	accept := "application/json"
	if format == "yaml" {
		accept = "application/yaml"
	}
	res, err := ui.send(r, sess, http.MethodGet, path, "", nil, http.Header{"Accept": {accept}})
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	if !res.ok() {
		ui.apiError(w, r, sess, res)
		return
	}
	name := "vecron-jobs"
	if domain.ValidNamespace(ns) {
		name += "-" + ns
	}
	w.Header().Set("Content-Type", accept+"; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+"."+format+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(res.body.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = res.body.WriteTo(w)
}
