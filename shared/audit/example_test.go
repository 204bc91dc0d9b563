package audit_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/secret"
)

// The API seals each row after the last one as it writes it; an auditor verifies the log later,
// against the head it kept from the previous verification.
func Example() {
	// In production the keys come from configuration: secret.ReadKeyList("audit.keys", …).
	keys, err := audit.NewKeys([]secret.RawKey{{ID: "2026-03", Raw: bytes.Repeat([]byte{0x5a}, audit.KeySize)}})
	if err != nil {
		fmt.Println(err)
		return
	}

	var log []*audit.Record
	var prev *audit.Record
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	for i, action := range []string{"job.create", "job.update", "job.delete"} {
		r := &audit.Record{
			Time:       at.Add(time.Duration(i) * time.Minute),
			ActorID:    "u-17",
			ActorName:  "alice",
			ActorKind:  "user",
			AuthMode:   "oidc",
			Action:     action,
			ObjectKind: "job",
			ObjectID:   "nightly-settlement",
			Namespace:  "payments",
		}
		keys.Seal(r, prev)
		log = append(log, r)
		prev = r
	}

	verify := func(anchor *audit.Anchor) (audit.Report, error) {
		v := keys.Verifier(anchor)
		for _, r := range log {
			if err := v.Next(r); err != nil {
				break
			}
		}
		return v.Finish()
	}

	rep, err := verify(nil)
	fmt.Println("verified", rep.Rows, "rows, error:", err)
	fmt.Println("keep the head:", rep.Head)

	// Someone with write access to the table rewrites who deleted the job…
	log[2].ActorName = "bob"
	_, err = verify(&rep.Head)
	fmt.Println(err)

	// …or removes the row instead: the chain alone is still whole, the anchor is not.
	log = log[:2]
	_, err = verify(&rep.Head)
	fmt.Println(err)

	// Output:
	// verified 3 rows, error: <nil>
	// keep the head: vecron-audit:3:e1RFZg6KuLOJfo0jXvoLO5sp6NbkUZMckko55Kvv52M
	// audit chain broken at seq 3: altered or forged: the MAC does not match
	// audit chain broken at seq 3: the log was cut: rows after seq 2 are missing (anchor at 3)
}
