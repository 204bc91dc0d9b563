package domain_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
)

// A definition made into a job keeps every field it names: a field added to JobDefinition and
// forgotten in Job would be dropped from every approved change.
func TestDefinitionJobKeepsEveryField(t *testing.T) {
	const full = `{"namespace":"payments","name":"settle","description":"d","tags":["a","b"],"kind":"http",
		"enabled":true,"schedule":{"cron":"0 * * * * *"},"timezone":"Asia/Ho_Chi_Minh",
		"http":{"method":"POST","url":"https://example.test/"},"timeout":"30s","misfire_policy":"fire_once",
		"max_catchup":3,"starting_deadline":"1m","missed_after":"2m","concurrency_policy":"forbid",
		"retry":{"max_attempts":3,"backoff":["5s"]},
		"triggers":[{"event":{"filters":[{"exact":{"type":"x"}}]}},{"webhook":{}}],
		"on_success":["payments/a"],"on_failure":["payments/b"],"on_completion":["payments/c"],
		"alert":{"enabled":false,"after_failures":7}}`
	var d domain.JobDefinition
	require.NoError(t, json.Unmarshal([]byte(full), &d))
	var defFields map[string]json.RawMessage
	b, err := json.Marshal(&d)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &defFields))
	// Every field of the definition is set, so none can hide behind omitempty: Chains holds
	// three, and of http and sql a job has one.
	require.Len(t, defFields, reflect.TypeFor[domain.JobDefinition]().NumField()-1+3-1, "the fixture sets every field")

	j, err := d.Job()
	require.NoError(t, err)
	b, err = json.Marshal(j)
	require.NoError(t, err)
	var jobFields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b, &jobFields))
	for k, v := range defFields {
		require.JSONEq(t, string(v), string(jobFields[k]), "field %s", k)
	}
}
