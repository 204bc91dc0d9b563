package apifn

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestInternalEventsSettings: the internal listener is off by default; on, it needs its own
// port, never the public one, and the namespaces it may start jobs in.
func TestInternalEventsSettings(t *testing.T) {
	t.Parallel()
	require.NoError(t, DefaultSettings().Events.validate(8080))
	for name, tc := range map[string]struct {
		e     EventsSettings
		field string
	}{
		"SamePort":     {EventsSettings{InternalPort: 8080, InternalNamespaces: []string{"shop"}}, "events.internal_port"},
		"NotAPort":     {EventsSettings{InternalPort: 70000, InternalNamespaces: []string{"shop"}}, "events.internal_port"},
		"NoNamespaces": {EventsSettings{InternalPort: 8082}, "events.internal_namespaces"},
		"BadNamespace": {EventsSettings{InternalPort: 8082, InternalNamespaces: []string{"*"}}, "events.internal_namespaces"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := tc.e.validate(8080)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.field)
		})
	}
	require.NoError(t, EventsSettings{InternalPort: 8082, InternalNamespaces: []string{"shop"}}.validate(8080))
}
