package dashboard

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/humanize"
)

// auditFilter is the audit log's form, as the user filled it in.
type auditFilter struct {
	Actor, Action, ObjectKind, ObjectID, Namespace string
	// Since and Until are local times in Zone.
	Since, Until, Zone string
}

func (f auditFilter) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"actor": f.Actor, "action": f.Action, "object_kind": f.ObjectKind, "object_id": f.ObjectID,
		"namespace": f.Namespace, "since": f.Since, "until": f.Until, "zone": f.Zone} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// auditView is the audit log page.
type auditView struct {
	Filter      auditFilter
	Fields      []formField
	Rows        []auditRow
	Next, First string
	Problem     string
	FieldErrors map[string]string
}

// formField is a labelled text field of a filter form.
type formField struct {
	Name, Label, Value, Error string
	// Local makes it a date-time field.
	Local bool
}

// auditFields returns the form's fields with their values and errors.
func (ui *UI) auditFields(lang string, av *auditView) []formField {
	f := av.Filter
	out := []formField{{Name: "actor", Value: f.Actor}, {Name: "action", Value: f.Action}, {Name: "object_kind", Value: f.ObjectKind},
		{Name: "object_id", Value: f.ObjectID}, {Name: "namespace", Value: f.Namespace}, {Name: "since", Value: f.Since, Local: true},
		{Name: "until", Value: f.Until, Local: true}, {Name: "zone", Value: f.Zone}}
	for i := range out {
		out[i].Label, out[i].Error = ui.cat.tr(lang, keyOf("audit.f.", out[i].Name)), av.FieldErrors[out[i].Name]
	}
	return out
}

// auditRow is one record of the audit log.
type auditRow struct {
	Seq                       int64
	Time, TimeRel             string
	ActorID, Actor, ActorKind string
	// ActorURL filters the log by the actor.
	ActorURL                     string
	Action, ObjectKind, ObjectID string
	// ObjectURL is the page of the object, when the dashboard has one.
	ObjectURL                    string
	Namespace, SourceIP, Request string
	Before, After                string
}

func (ui *UI) auditPage(w http.ResponseWriter, r *http.Request, sess *session) {
	lang, q := langOf(r), r.URL.Query()
	f := auditFilter{Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")),
		ObjectKind: strings.TrimSpace(q.Get("object_kind")), ObjectID: strings.TrimSpace(q.Get("object_id")),
		Namespace: strings.TrimSpace(q.Get("namespace")), Since: q.Get("since"), Until: q.Get("until"), Zone: strings.TrimSpace(q.Get("zone"))}
	if f.Zone == "" {
		f.Zone = domain.DefaultTimezone
	}
	av := &auditView{Filter: f, FieldErrors: map[string]string{}}
	loc, err := time.LoadLocation(f.Zone)
	if err != nil || f.Zone == "Local" {
		av.FieldErrors["zone"] = ui.cat.tr(lang, "history.bad_zone")
		loc = time.UTC
	}
	params := url.Values{"limit": {"50"}}
	for k, v := range map[string]string{"actor": f.Actor, "action": f.Action, "object_kind": f.ObjectKind, "object_id": f.ObjectID, "namespace": f.Namespace} {
		if v != "" {
			params.Set(k, v)
		}
	}
	for name, raw := range map[string]string{"since": f.Since, "until": f.Until} {
		if raw == "" {
			continue
		}
		t, ok := parseLocal(raw, lang, loc)
		if !ok {
			av.FieldErrors[name] = ui.cat.tr(lang, "history.bad_time", ui.cat.tr(lang, "history.format"))
			continue
		}
		params.Set(name, t.Format(time.RFC3339))
	}
	if c := q.Get("cursor"); c != "" {
		params.Set("cursor", c)
		av.First = "/audit?" + f.values().Encode()
	}
	if len(av.FieldErrors) > 0 {
		av.Fields = ui.auditFields(lang, av)
		v := ui.newView(r, sess, "audit.title", "audit", av)
		ui.renderPage(w, http.StatusBadRequest, v, auditContent(v, av))
		return
	}
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/audit?"+params.Encode(), nil)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	switch {
	case res.status == http.StatusForbidden:
		ui.apiError(w, r, sess, res)
		return
	case !res.ok():
		av.Problem, av.FieldErrors = problemFields(res, nil)
		av.Fields = ui.auditFields(lang, av)
		v := ui.newView(r, sess, "audit.title", "audit", av)
		ui.renderPage(w, res.status, v, auditContent(v, av))
		return
	}
	var list struct {
		Items      []*audit.Record `json:"items"`
		NextCursor string          `json:"next_cursor"`
	}
	if err := res.decode(&list); err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	now := ui.now()
	for _, rec := range list.Items {
		row := auditRow{Seq: rec.Seq, Time: humanize.DateTime(rec.Time.In(loc), lang), TimeRel: humanize.Relative(now, rec.Time, lang),
			ActorID: rec.ActorID, Actor: cmp.Or(rec.ActorName, rec.ActorID), ActorKind: rec.ActorKind, Action: rec.Action,
			ObjectKind: rec.ObjectKind, ObjectID: rec.ObjectID, Namespace: rec.Namespace, SourceIP: rec.SourceIP, Request: rec.RequestID,
			Before: indented(rec.Before), After: indented(rec.After)}
		if rec.ActorID != "" {
			v := f.values()
			v.Set("actor", rec.ActorID)
			row.ActorURL = "/audit?" + v.Encode()
		}
		if uuid.Validate(rec.ObjectID) == nil {
			switch rec.ObjectKind {
			case "job":
				row.ObjectURL = "/jobs/" + rec.ObjectID
			case "execution":
				row.ObjectURL = "/executions/" + rec.ObjectID
			}
		}
		av.Rows = append(av.Rows, row)
	}
	if list.NextCursor != "" {
		v := f.values()
		v.Set("cursor", list.NextCursor)
		av.Next = "/audit?" + v.Encode()
	}
	av.Fields = ui.auditFields(lang, av)
	v := ui.newView(r, sess, "audit.title", "audit", av)
	ui.renderPage(w, http.StatusOK, v, auditContent(v, av))
}

// indented returns the JSON of an audit record's object to be read ("" for none): indented,
// with the characters json.Marshal escapes for HTML written as themselves (the template
// escapes them for the page), keys in order.
func indented(raw json.RawMessage) string {
	if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return string(raw)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if enc.Encode(v) != nil {
		return string(raw)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
