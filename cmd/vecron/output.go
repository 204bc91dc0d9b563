package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

// Output formats of -o.
const (
	formatTable = "table"
	formatJSON  = "json"
	formatYAML  = "yaml"
)

// outputFlag registers -o/--output on cmd and returns its value.
func outputFlag(cmd *cobra.Command) *string {
	return cmd.Flags().StringP("output", "o", formatTable, "output format: table (for people), json (the API's JSON) or yaml")
}

// checkFormat refuses an -o the commands do not write.
func checkFormat(f string) error {
	switch f {
	case formatTable, formatJSON, formatYAML:
		return nil
	}
	return usageError{fmt.Errorf("-o: %q is not an output format: use table, json or yaml", f)}
}

// printRaw writes the API's JSON document raw as -o asks: indented JSON, or the same document
// in YAML, its keys in the API's order. It returns false for the table format, which the caller
// writes.
func printRaw(w io.Writer, format string, raw []byte) (bool, error) {
	switch format {
	case formatJSON:
		var b bytes.Buffer
		if err := json.Indent(&b, bytes.TrimSpace(raw), "", "  "); err != nil {
			return true, fmt.Errorf("the API answered with something other than JSON: %w", err)
		}
		b.WriteByte('\n')
		_, err := w.Write(b.Bytes())
		return true, err
	case formatYAML:
		y, err := jsonToYAML(raw)
		if err != nil {
			return true, err
		}
		_, err = w.Write(y)
		return true, err
	}
	return false, nil
}

// jsonToYAML renders a JSON document as block-style YAML with its keys in their order.
func jsonToYAML(raw []byte) ([]byte, error) {
	// JSON is YAML: parsed into nodes it keeps its key order, which a map would lose.
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("the API answered with something other than JSON: %w", err)
	}
	blockStyle(&doc)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// blockStyle clears the flow and quoting styles JSON parsed with, so the encoder writes plain
// YAML and quotes only the strings that need it.
func blockStyle(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && strings.Contains(n.Value, "\n") {
		n.Style = yaml.LiteralStyle
	} else {
		n.Style = 0
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 0 || n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		n.Style = yaml.FlowStyle // {} and [] read better than an empty block
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// table writes rows under header as aligned columns.
func table(w io.Writer, header string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	_ = tw.Flush()
}

// fields writes name-value pairs as two aligned columns, for one object.
func fields(w io.Writer, pairs [][2]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, p := range pairs {
		if p[1] != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", p[0], p[1])
		}
	}
	_ = tw.Flush()
}

func when(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}

// clock formats t in zone for people: to the second, with the zone's abbreviation.
func clock(t *time.Time, zone *time.Location, none string) string {
	if t == nil || t.IsZero() {
		return none
	}
	return t.In(zone).Format("2006-01-02 15:04:05 MST")
}

// zoneOf loads an IANA zone, or fallback when name is empty or unknown here.
func zoneOf(name string, fallback *time.Location) *time.Location {
	if name == "" {
		return fallback
	}
	if z, err := time.LoadLocation(name); err == nil {
		return z
	}
	return fallback
}

// human formats a duration in milliseconds for people: 850ms, 1.2s, 3m4s, 2h5m.
func human(ms float64) string {
	d := time.Duration(ms * float64(time.Millisecond))
	switch {
	case ms <= 0:
		return "-"
	case d < time.Second:
		return fmt.Sprintf("%dms", int(math.Round(ms)))
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second).Seconds()))
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
}

// clip shortens s to one line of at most n runes for a table cell.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
