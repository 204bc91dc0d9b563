package metric

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSettingsRefuseWhatTheyCannotBound(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		change func(*Settings)
		field  string
	}{
		{func(s *Settings) { s.MaxNamespaces = 0 }, "metrics.max_namespaces"},
		{func(s *Settings) { s.MaxHosts = 10_001 }, "metrics.max_hosts"},
		{func(s *Settings) { s.MaxJobSeries = -1 }, "metrics.max_job_series"},
		{func(s *Settings) { s.Jobs = []string{"payments"} }, "metrics.jobs[0]"},
		{func(s *Settings) { s.Jobs = []string{"payments/settle", "*/settle"} }, "metrics.jobs[1]"},
		{func(s *Settings) { s.Jobs = []string{"billing/sett*"} }, "metrics.jobs[0]"},
		{func(s *Settings) { s.Jobs = []string{"a/b/c"} }, "metrics.jobs[0]"},
	} {
		s := DefaultSettings()
		c.change(&s)
		_, err := New(Config{Function: "api", Settings: s})
		require.ErrorContains(t, err, c.field)
	}
	s := DefaultSettings()
	s.Jobs = []string{"payments/settle", "billing/*"}
	require.NoError(t, s.Validate())
}

func TestMetricsOffGivesHandlesThatDoNothing(t *testing.T) {
	t.Parallel()
	s := DefaultSettings()
	s.Enabled = false
	reg, err := New(Config{Function: "tick", Settings: s})
	require.NoError(t, err)
	require.Nil(t, reg)
	c, err := reg.CounterVec(MissedFires)
	require.NoError(t, err)
	c.Inc("unclaimed") // does nothing, does not panic
}

// The namespace cap is the setting's, not the catalog's default.
func TestNamespaceCapComesFromTheSetting(t *testing.T) {
	t.Parallel()
	s := DefaultSettings()
	s.MaxNamespaces = 2
	reg, err := New(Config{Function: "api", Settings: s})
	require.NoError(t, err)
	b := reg.newBounds(Desc{Name: LabelOverflow, Labels: []Label{NamespaceLabel(), {Name: "other_cap", Cap: 1}}})
	require.Equal(t, []string{"a", "x"}, b.apply([]string{"a", "x"}))
	require.Equal(t, []string{"b", Other}, b.apply([]string{"b", "y"}))
	require.Equal(t, []string{Other, "x"}, b.apply([]string{"c", "x"}))
}
