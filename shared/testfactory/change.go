package testfactory

import (
	"context"
	"testing"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/store"
)

// ActorOf returns ctx carrying user u as the actor of its changes, as a request of theirs
// would.
func ActorOf(ctx context.Context, u *domain.User) context.Context {
	return domain.WithActor(ctx, domain.Actor{ID: u.ID, Name: u.Username, Kind: "user", Mode: domain.UserSourceDatabase})
}

// Change proposes, as user by, a pending edit of job j that sets its description, and returns
// the change.
func Change(t testing.TB, st *store.Store, j *domain.Job, by *domain.User, description string) *domain.Change {
	t.Helper()
	edit := *j
	edit.Description = description
	c, err := jobs.New(st, time.Now).Propose(ActorOf(context.Background(), by), st,
		jobs.Proposal{Action: domain.ChangeUpdate, Job: &edit, Current: j, UserID: by.ID})
	if err != nil {
		t.Fatalf("propose a change: %v", err)
	}
	return c
}
