package store_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

// TestResealWebhooksInBatchesPastFailures: a rotation in batches of one re-seals every webhook
// it can open, one audited transaction each, goes on past one it cannot, and a second run
// finds only that one.
func TestResealWebhooksInBatchesPastFailures(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	st.UseAudit(testfactory.AuditKeys(t))
	ctx := domain.WithActor(t.Context(), domain.Actor{ID: "rotate", Name: "rotate", Kind: "system"})
	var ids []string
	for range 3 {
		j := testfactory.Job(t, st, testfactory.JobOpts{})
		_, err := st.PutWebhook(ctx, &store.WebhookRecord{JobID: j.ID, TokenHash: []byte(j.ID), TokenHint: "h", KeyID: "old", Sealed: []byte("s")}, j.Namespace, &domain.Webhook{})
		require.NoError(t, err)
		ids = append(ids, j.ID)
	}
	broken := ids[1]
	reseal := func(jobID string) domain.Resealer {
		return func(keyID string, sealed []byte) ([]byte, error) {
			if jobID == broken {
				return nil, errors.New("does not open")
			}
			return append([]byte("new:"), sealed...), nil
		}
	}
	rep, err := st.ResealWebhooks(ctx, "new", 1, reseal)
	require.NoError(t, err)
	require.Equal(t, 2, rep.Resealed)
	require.Len(t, rep.Failed, 1)
	require.Equal(t, broken, rep.Failed[0].ID)
	require.Equal(t, "old", rep.Failed[0].KeyID)
	rows, err := st.ListAudit(ctx, store.AuditFilter{Action: store.ActionSecretsRotate, Limit: 10})
	require.NoError(t, err)
	require.Len(t, rows, 2, "one audit row per batch that re-sealed something")

	rep, err = st.ResealWebhooks(ctx, "new", 1, reseal)
	require.NoError(t, err)
	require.Zero(t, rep.Resealed)
	require.Len(t, rep.Failed, 1)
	w, err := st.GetWebhook(ctx, ids[0])
	require.NoError(t, err)
	require.Equal(t, "new", w.KeyID)
	require.Equal(t, "new:s", string(w.Sealed))
}
