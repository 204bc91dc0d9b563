package jobs_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
)

// validJob returns a job, as a user writes it, that passes Validate once defaults are applied.
func validJob() *domain.Job {
	return &domain.Job{
		Name: "nightly-report",
		HTTP: &domain.HTTPSpec{
			URL:     "https://example.com/hooks/report",
			Headers: map[string]string{"Authorization": "Bearer {{ var.API_TOKEN }}", "Content-Type": "application/json"},
			Body:    `{"full":true}`,
		},
		Schedule: domain.Schedule{Cron: "0 0 2 * * *"},
	}
}

// fieldsOf returns the fields a *domain.ValidationError names, failing the test for any other error.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	require.Error(t, err)
	var verr *domain.ValidationError
	require.True(t, errors.As(err, &verr), "want *domain.ValidationError, got %T: %v", err, err)
	fields := make([]string, 0, len(verr.Fields))
	for _, f := range verr.Fields {
		assert.NotEmpty(t, f.Reason, "field %s has no reason", f.Field)
		fields = append(fields, f.Field)
	}
	return fields
}

func TestWithDefaults(t *testing.T) {
	t.Parallel()
	j := &domain.Job{
		Namespace: "  ",
		Name:      "  ping \t",
		HTTP:      &domain.HTTPSpec{Method: "post", URL: "https://example.com"},
	}
	jobs.WithDefaults(j)
	assert.Equal(t, domain.DefaultNamespace, j.Namespace)
	assert.Equal(t, "ping", j.Name)
	assert.Equal(t, domain.KindHTTP, j.Kind)
	assert.Equal(t, domain.DefaultTimezone, j.Timezone)
	assert.Equal(t, domain.Duration(jobs.TimeoutDefault), j.Timeout)
	assert.Equal(t, "POST", j.HTTP.Method)

	j = &domain.Job{HTTP: &domain.HTTPSpec{}, Timeout: domain.Duration(time.Minute), Timezone: "UTC", Namespace: " team "}
	jobs.WithDefaults(j)
	assert.Equal(t, "GET", j.HTTP.Method)
	assert.Equal(t, domain.Duration(time.Minute), j.Timeout, "a set timeout is kept")
	assert.Equal(t, "UTC", j.Timezone, "a set zone is kept")
	assert.Equal(t, "team", j.Namespace)

	j = &domain.Job{Kind: domain.KindSQL, HTTP: &domain.HTTPSpec{}}
	jobs.WithDefaults(j)
	assert.Equal(t, domain.KindSQL, j.Kind, "a set kind is kept")
}

func TestValidateAcceptsValidJob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(j *domain.Job)
	}{
		{name: "AsWritten", mutate: func(*domain.Job) {}},
		{name: "NameAtLimit", mutate: func(j *domain.Job) { j.Name = strings.Repeat("n", jobs.MaxNameLen) }},
		{name: "UnicodeName", mutate: func(j *domain.Job) { j.Name = "báo cáo hằng đêm 📈" }},
		{name: "LowerCaseMethod", mutate: func(j *domain.Job) { j.HTTP.Method = "patch" }},
		{name: "EveryMethod", mutate: func(j *domain.Job) { j.HTTP.Method = "OPTIONS" }},
		{name: "PlainHTTP", mutate: func(j *domain.Job) { j.HTTP.URL = "http://10.0.0.7:8080/x?y=1" }},
		{name: "UpperCaseScheme", mutate: func(j *domain.Job) { j.HTTP.URL = "HTTPS://example.com/" }},
		{name: "BodyAtLimit", mutate: func(j *domain.Job) { j.HTTP.Body = strings.Repeat("b", jobs.MaxBodyBytes) }},
		{name: "HeadersAtLimit", mutate: func(j *domain.Job) { j.HTTP.Headers = manyHeaders(jobs.MaxHeaders) }},
		{name: "HeaderValueWithTab", mutate: func(j *domain.Job) { j.HTTP.Headers = map[string]string{"X-A": "a\tb"} }},
		{name: "TokenHeaderName", mutate: func(j *domain.Job) { j.HTTP.Headers = map[string]string{"X-!#$%&'*+.^_`|~1": "v"} }},
		{name: "TimeoutMinimum", mutate: func(j *domain.Job) { j.Timeout = domain.Duration(time.Millisecond) }},
		{name: "TimeoutMaximum", mutate: func(j *domain.Job) { j.Timeout = domain.Duration(jobs.MaxTimeout) }},
		{name: "FiveFieldCron", mutate: func(j *domain.Job) { j.Schedule.Cron = "*/15 * * * *" }},
		{name: "Descriptor", mutate: func(j *domain.Job) { j.Schedule.Cron = "@every 90s" }},
		{name: "OtherZone", mutate: func(j *domain.Job) { j.Timezone = "Europe/Berlin" }},
		{name: "DescriptionAtLimit", mutate: func(j *domain.Job) { j.Description = strings.Repeat("d", 4096) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j := validJob()
			tt.mutate(j)
			jobs.WithDefaults(j)
			sched, err := jobs.Validate(j)
			require.NoError(t, err)
			require.NotNil(t, sched)
			assert.Equal(t, j.Timezone, sched.Location().String())
		})
	}
}

func TestValidateSchedule(t *testing.T) {
	t.Parallel()
	j := validJob()
	jobs.WithDefaults(j)
	sched, err := jobs.Validate(j)
	require.NoError(t, err)
	next, ok := sched.Next(time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC))
	require.True(t, ok)
	// 02:00 in Ho Chi Minh City (the default zone) is 19:00 UTC the day before.
	assert.Equal(t, time.Date(2025, 3, 10, 19, 0, 0, 0, time.UTC), next)
}

func manyHeaders(n int) map[string]string {
	h := make(map[string]string, n)
	for i := range n {
		h[fmt.Sprintf("X-H%d", i)] = "v"
	}
	return h
}

func TestValidateRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		mutate     func(j *domain.Job) // applied after WithDefaults
		wantFields []string
	}{
		{name: "NameRequired", mutate: func(j *domain.Job) { j.Name = "" }, wantFields: []string{"name"}},
		{name: "NameTooLong", mutate: func(j *domain.Job) { j.Name = strings.Repeat("n", jobs.MaxNameLen+1) }, wantFields: []string{"name"}},
		{name: "NameTooLongInBytes", mutate: func(j *domain.Job) { j.Name = strings.Repeat("đ", jobs.MaxNameLen/2+1) }, wantFields: []string{"name"}},
		{name: "NameWithNewline", mutate: func(j *domain.Job) { j.Name = "a\nb" }, wantFields: []string{"name"}},
		{name: "NameWithTab", mutate: func(j *domain.Job) { j.Name = "a\tb" }, wantFields: []string{"name"}},
		{name: "NameWithDEL", mutate: func(j *domain.Job) { j.Name = "a\x7fb" }, wantFields: []string{"name"}},
		{name: "NameWithC1Control", mutate: func(j *domain.Job) { j.Name = "a\u0085b" }, wantFields: []string{"name"}},
		{name: "NamespaceTooLong", mutate: func(j *domain.Job) { j.Namespace = strings.Repeat("s", jobs.MaxNameLen+1) }, wantFields: []string{"namespace"}},
		{name: "NamespaceControl", mutate: func(j *domain.Job) { j.Namespace = "a\x00b" }, wantFields: []string{"namespace"}},
		{name: "DescriptionTooLong", mutate: func(j *domain.Job) { j.Description = strings.Repeat("d", 4097) }, wantFields: []string{"description"}},
		{name: "KindMissing", mutate: func(j *domain.Job) { j.Kind, j.HTTP = "", nil }, wantFields: []string{"kind"}},
		{name: "KindUnknown", mutate: func(j *domain.Job) { j.Kind = "grpc" }, wantFields: []string{"kind"}},
		{name: "KindSQLWithoutSQL", mutate: func(j *domain.Job) { j.Kind = domain.KindSQL }, wantFields: []string{"sql"}},
		{name: "KindUnknown", mutate: func(j *domain.Job) { j.Kind = "ftp" }, wantFields: []string{"kind"}},
		{name: "SQLBad", mutate: func(j *domain.Job) {
			j.Kind, j.HTTP = domain.KindSQL, nil
			j.SQL = &domain.SQLSpec{Driver: "mssql", Statements: []domain.SQLStatement{{SQL: " ", Params: []any{"{{ nope }}", []any{1}}}}, MaxRows: -1}
		}, wantFields: []string{"sql.driver", "sql.dsn", "sql.statements[0].sql", "sql.statements[0].params[0]", "sql.statements[0].params[1]", "sql.max_rows"}},
		{name: "SQLNamedAndPositional", mutate: func(j *domain.Job) {
			j.Kind, j.HTTP = domain.KindSQL, nil
			j.SQL = &domain.SQLSpec{Driver: domain.DriverPostgres, DSN: "postgres://u@db/x", Statements: []domain.SQLStatement{
				{SQL: "SELECT @a, $1", Params: []any{1.0}, NamedParams: map[string]any{"a": 1.0, "b c": 2.0, "d": "{{ nope }}"}}}}
		}, wantFields: []string{"sql.statements[0].named_params", "sql.statements[0].named_params.b c", "sql.statements[0].named_params.d"}},
		{name: "SQLNamedOnMySQL", mutate: func(j *domain.Job) {
			j.Kind, j.HTTP = domain.KindSQL, nil
			j.SQL = &domain.SQLSpec{Driver: domain.DriverMySQL, DSN: "u@tcp(db)/x", Statements: []domain.SQLStatement{
				{SQL: "SELECT :a", NamedParams: map[string]any{"a": 1.0}}}}
		}, wantFields: []string{"sql.statements[0].named_params"}},
		{name: "HTTPMissing", mutate: func(j *domain.Job) { j.HTTP = nil }, wantFields: []string{"http"}},
		{name: "MethodUnknown", mutate: func(j *domain.Job) { j.HTTP.Method = "FETCH" }, wantFields: []string{"http.method"}},
		{name: "MethodTrace", mutate: func(j *domain.Job) { j.HTTP.Method = "TRACE" }, wantFields: []string{"http.method"}},
		{name: "MethodConnect", mutate: func(j *domain.Job) { j.HTTP.Method = "CONNECT" }, wantFields: []string{"http.method"}},
		{name: "MethodLowerCaseWithoutDefaults", mutate: func(j *domain.Job) { j.HTTP.Method = "get" }, wantFields: []string{"http.method"}},
		{name: "MethodEmptyWithoutDefaults", mutate: func(j *domain.Job) { j.HTTP.Method = "" }, wantFields: []string{"http.method"}},
		{name: "URLEmpty", mutate: func(j *domain.Job) { j.HTTP.URL = "" }, wantFields: []string{"http.url"}},
		{name: "URLRelative", mutate: func(j *domain.Job) { j.HTTP.URL = "/hooks/report" }, wantFields: []string{"http.url"}},
		{name: "URLNoScheme", mutate: func(j *domain.Job) { j.HTTP.URL = "example.com/hooks" }, wantFields: []string{"http.url"}},
		{name: "URLFTP", mutate: func(j *domain.Job) { j.HTTP.URL = "ftp://example.com/file" }, wantFields: []string{"http.url"}},
		{name: "URLFile", mutate: func(j *domain.Job) { j.HTTP.URL = "file:///etc/passwd" }, wantFields: []string{"http.url"}},
		{name: "URLNoHost", mutate: func(j *domain.Job) { j.HTTP.URL = "http:///path" }, wantFields: []string{"http.url"}},
		{name: "URLOnlyScheme", mutate: func(j *domain.Job) { j.HTTP.URL = "https://" }, wantFields: []string{"http.url"}},
		{name: "URLOpaque", mutate: func(j *domain.Job) { j.HTTP.URL = "http:example.com" }, wantFields: []string{"http.url"}},
		{name: "URLUnparsable", mutate: func(j *domain.Job) { j.HTTP.URL = "http://exa mple.com/" }, wantFields: []string{"http.url"}},
		{name: "URLControlChar", mutate: func(j *domain.Job) { j.HTTP.URL = "https://example.com/\n" }, wantFields: []string{"http.url"}},
		{name: "HeaderNameWithSpace", mutate: func(j *domain.Job) { j.HTTP.Headers = map[string]string{"Bad Header": "v"} }, wantFields: []string{"http.headers"}},
		{name: "HeaderNameWithColon", mutate: func(j *domain.Job) { j.HTTP.Headers = map[string]string{"X:Y": "v"} }, wantFields: []string{"http.headers"}},
		{name: "HeaderNameEmpty", mutate: func(j *domain.Job) { j.HTTP.Headers = map[string]string{"": "v"} }, wantFields: []string{"http.headers"}},
		{name: "HeaderNameNonASCII", mutate: func(j *domain.Job) { j.HTTP.Headers = map[string]string{"X-Tên": "v"} }, wantFields: []string{"http.headers"}},
		{name: "HeaderNameCRLF", mutate: func(j *domain.Job) { j.HTTP.Headers = map[string]string{"X-A\r\nEvil": "v"} }, wantFields: []string{"http.headers"}},
		{name: "HeaderValueCRLF", mutate: func(j *domain.Job) { j.HTTP.Headers = map[string]string{"X-A": "a\r\nInjected: 1"} }, wantFields: []string{"http.headers.X-A"}},
		{name: "HeaderValueLF", mutate: func(j *domain.Job) { j.HTTP.Headers = map[string]string{"X-A": "a\nb"} }, wantFields: []string{"http.headers.X-A"}},
		{name: "HeaderValueNUL", mutate: func(j *domain.Job) { j.HTTP.Headers = map[string]string{"X-A": "a\x00b"} }, wantFields: []string{"http.headers.X-A"}},
		{name: "IdempotencyKeyReserved", mutate: func(j *domain.Job) { j.HTTP.Headers = map[string]string{"Idempotency-Key": "mine"} }, wantFields: []string{"http.headers.Idempotency-Key"}},
		{name: "IdempotencyKeyReservedAnyCase", mutate: func(j *domain.Job) { j.HTTP.Headers = map[string]string{"idempotency-KEY": "mine"} }, wantFields: []string{"http.headers.idempotency-KEY"}},
		{name: "TooManyHeaders", mutate: func(j *domain.Job) { j.HTTP.Headers = manyHeaders(jobs.MaxHeaders + 1) }, wantFields: []string{"http.headers"}},
		{name: "BodyTooBig", mutate: func(j *domain.Job) { j.HTTP.Body = strings.Repeat("b", jobs.MaxBodyBytes+1) }, wantFields: []string{"http.body"}},
		{name: "TimeoutZero", mutate: func(j *domain.Job) { j.Timeout = 0 }, wantFields: []string{"timeout"}},
		{name: "TimeoutNegative", mutate: func(j *domain.Job) { j.Timeout = domain.Duration(-time.Second) }, wantFields: []string{"timeout"}},
		{name: "TimeoutOverMax", mutate: func(j *domain.Job) { j.Timeout = domain.Duration(jobs.MaxTimeout + time.Nanosecond) }, wantFields: []string{"timeout"}},
		{name: "CronInvalid", mutate: func(j *domain.Job) { j.Schedule.Cron = "every night" }, wantFields: []string{"schedule.cron"}},
		{name: "CronEmpty", mutate: func(j *domain.Job) { j.Schedule.Cron = "" }, wantFields: []string{"schedule.cron"}},
		{name: "CronEmbedsZone", mutate: func(j *domain.Job) { j.Schedule.Cron = "CRON_TZ=UTC 0 2 * * *" }, wantFields: []string{"schedule.cron"}},
		{name: "TimezoneUnknown", mutate: func(j *domain.Job) { j.Timezone = "Mars/Olympus_Mons" }, wantFields: []string{"timezone"}},
		{name: "TimezoneLocal", mutate: func(j *domain.Job) { j.Timezone = "Local" }, wantFields: []string{"timezone"}},
		{
			name: "HeaderNameAndValueBothBad",
			mutate: func(j *domain.Job) {
				j.HTTP.Headers = map[string]string{"Idempotency-Key": "a\nb", "Bad Name": "ok"}
			},
			wantFields: []string{"http.headers.Idempotency-Key", "http.headers.Idempotency-Key", "http.headers"},
		},
		{
			name: "EverythingWrong",
			mutate: func(j *domain.Job) {
				j.Name = ""
				j.Namespace = strings.Repeat("s", jobs.MaxNameLen+1)
				j.Description = strings.Repeat("d", 4097)
				j.HTTP = &domain.HTTPSpec{
					Method:  "FETCH",
					URL:     "ftp://example.com",
					Headers: map[string]string{"X-A": "a\r\nb"},
					Body:    strings.Repeat("b", jobs.MaxBodyBytes+1),
				}
				j.Timeout = domain.Duration(-1)
				j.Schedule.Cron = "61 * * * *"
				j.Timezone = "Nowhere/Land"
			},
			wantFields: []string{
				"name", "namespace", "description", "http.method", "http.url", "http.headers.X-A",
				"http.body", "timeout", "timezone", "schedule.cron",
			},
		},
		{
			name: "KindAndScheduleWrong",
			mutate: func(j *domain.Job) {
				j.Kind, j.HTTP = "", nil
				j.Schedule.Cron = ""
				j.Timeout = domain.Duration(25 * time.Hour)
			},
			wantFields: []string{"kind", "timeout", "schedule.cron"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j := validJob()
			jobs.WithDefaults(j)
			tt.mutate(j)
			sched, err := jobs.Validate(j)
			assert.Nil(t, sched)
			assert.ElementsMatch(t, tt.wantFields, fieldsOf(t, err))
		})
	}
}

func TestValidateWithoutDefaults(t *testing.T) {
	t.Parallel()
	// A job as written, without WithDefaults: the namespace, kind, timeout and policies are missing.
	sched, err := jobs.Validate(validJob())
	assert.Nil(t, sched)
	assert.ElementsMatch(t, []string{"namespace", "kind", "timeout", "misfire_policy", "max_catchup", "concurrency_policy", "retry.max_attempts"}, fieldsOf(t, err))
}

func TestValidateErrorMessage(t *testing.T) {
	t.Parallel()
	j := validJob()
	jobs.WithDefaults(j)
	j.HTTP.URL = "ftp://example.com"
	j.Timeout = domain.Duration(48 * time.Hour)
	_, err := jobs.Validate(j)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "http.url: must be an absolute http:// or https:// URL")
	assert.Contains(t, err.Error(), "timeout: must be a duration")
	assert.Contains(t, err.Error(), jobs.MaxTimeout.String())
}

// TestValidateRejectsWhatWouldFailEveryRun holds jobs that pass a naive check but whose every run
// would go wrong.
func TestValidateRejectsWhatWouldFailEveryRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		mutate    func(j *domain.Job)
		wantField string
	}{
		{
			// u.Host is ":8080", so the "has no host" check passes; net/http then dials
			// ":8080", which is the local machine.
			name:      "URLPortWithoutHost",
			mutate:    func(j *domain.Job) { j.HTTP.URL = "http://:8080/admin" },
			wantField: "http.url",
		},
		{
			// net/http refuses every control byte but tab at run time ("invalid header field
			// value"), so a job holding one would fail every run.
			name:      "HeaderValueControlByte",
			mutate:    func(j *domain.Job) { j.HTTP.Headers = map[string]string{"X-A": "a\x01b"} },
			wantField: "http.headers.X-A",
		},
		{
			name:      "AuthorizationInClear",
			mutate:    func(j *domain.Job) { j.HTTP.Headers = map[string]string{"Authorization": "Bearer sk_live_abc"} },
			wantField: "http.headers.Authorization",
		},
		{
			name:      "AuthorizationLiteralInATemplate",
			mutate:    func(j *domain.Job) { j.HTTP.Headers = map[string]string{"Authorization": `Bearer {{ "sk_live_abc" }}`} },
			wantField: "http.headers.Authorization",
		},
		{
			name:      "TokenInQueryFromJobName",
			mutate:    func(j *domain.Job) { j.HTTP.URL = "https://example.com/run?access_token={{ job.name }}" },
			wantField: "http.url",
		},
		{
			name:      "APIKeyHeaderInClear",
			mutate:    func(j *domain.Job) { j.HTTP.Headers = map[string]string{"X-Api-Key": "abc"} },
			wantField: "http.headers.X-Api-Key",
		},
		{
			name:      "PasswordInURL",
			mutate:    func(j *domain.Job) { j.HTTP.URL = "https://user:hunter2@example.com/run" },
			wantField: "http.url",
		},
		{
			name:      "TokenInQuery",
			mutate:    func(j *domain.Job) { j.HTTP.URL = "https://example.com/run?access_token=abc" },
			wantField: "http.url",
		},
		{
			name:      "TooManyRedirects",
			mutate:    func(j *domain.Job) { j.HTTP.FollowRedirects = 11 },
			wantField: "http.follow_redirects",
		},
		{
			name:      "NegativeRedirects",
			mutate:    func(j *domain.Job) { j.HTTP.FollowRedirects = -1 },
			wantField: "http.follow_redirects",
		},
		{
			// The executor's driver would read the file (the name is sslrootcert, escaped).
			name: "DSNReadsAFileOfTheExecutor",
			mutate: func(j *domain.Job) {
				j.Kind, j.HTTP = domain.KindSQL, nil
				j.SQL = &domain.SQLSpec{Driver: domain.DriverPostgres, DSN: "postgres://u:{{ var.DB_PASSWORD }}@db/x?ssl%72ootcert=/etc/ssl/private/ca.pem",
					Statements: []domain.SQLStatement{{SQL: "SELECT 1"}}}
			},
			wantField: "sql.dsn",
		},
		{
			name: "DSNRunsSeveralStatementsPerCall",
			mutate: func(j *domain.Job) {
				j.Kind, j.HTTP = domain.KindSQL, nil
				j.SQL = &domain.SQLSpec{Driver: domain.DriverMySQL, DSN: "u:{{ var.DB_PASSWORD }}@tcp(db:3306)/x?multiStatements=true",
					Statements: []domain.SQLStatement{{SQL: "SELECT 1"}}}
			},
			wantField: "sql.dsn",
		},
		{
			name: "DSNOracleWallet",
			mutate: func(j *domain.Job) {
				j.Kind, j.HTTP = domain.KindSQL, nil
				j.SQL = &domain.SQLSpec{Driver: domain.DriverOracle, DSN: "oracle://u:{{ var.DB_PASSWORD }}@db:1521/S?wallet=/etc/oracle",
					Statements: []domain.SQLStatement{{SQL: "SELECT 1 FROM dual"}}}
			},
			wantField: "sql.dsn",
		},
		{
			name: "SQLPasswordInClear",
			mutate: func(j *domain.Job) {
				j.Kind, j.HTTP = domain.KindSQL, nil
				j.SQL = &domain.SQLSpec{Driver: domain.DriverPostgres, Host: "db", User: "u", Password: "hunter2",
					Statements: []domain.SQLStatement{{SQL: "SELECT 1"}}}
			},
			wantField: "sql.password",
		},
		{
			// A template that is no variable's is the job's own text.
			name: "SQLPasswordALiteralTemplate",
			mutate: func(j *domain.Job) {
				j.Kind, j.HTTP = domain.KindSQL, nil
				j.SQL = &domain.SQLSpec{Driver: domain.DriverMySQL, Host: "db", User: "u", Password: `{{ "hunter2" }}`,
					Statements: []domain.SQLStatement{{SQL: "SELECT 1"}}}
			},
			wantField: "sql.password",
		},
		{
			name: "DSNPasswordInClear",
			mutate: func(j *domain.Job) {
				j.Kind, j.HTTP = domain.KindSQL, nil
				j.SQL = &domain.SQLSpec{Driver: domain.DriverPostgres, DSN: "host=db user=u password=hunter2",
					Statements: []domain.SQLStatement{{SQL: "SELECT 1"}}}
			},
			wantField: "sql.dsn",
		},
		{
			// Templates elsewhere leave the password where the driver's syntax puts it.
			name: "DSNPasswordInClearTemplatedPort",
			mutate: func(j *domain.Job) {
				j.Kind, j.HTTP = domain.KindSQL, nil
				j.SQL = &domain.SQLSpec{Driver: domain.DriverOracle, DSN: "oracle://u:hunter2@db:{{ var.PORT }}/S",
					Statements: []domain.SQLStatement{{SQL: "SELECT 1 FROM dual"}}}
			},
			wantField: "sql.dsn",
		},
		{
			name: "DSNOracleWithoutPassword",
			mutate: func(j *domain.Job) {
				j.Kind, j.HTTP = domain.KindSQL, nil
				j.SQL = &domain.SQLSpec{Driver: domain.DriverOracle, DSN: "oracle://u@db:1521/S",
					Statements: []domain.SQLStatement{{SQL: "SELECT 1 FROM dual"}}}
			},
			wantField: "sql.dsn",
		},
		{
			name:      "HeaderValueDEL",
			mutate:    func(j *domain.Job) { j.HTTP.Headers = map[string]string{"X-A": "a\x7fb"} },
			wantField: "http.headers.X-A",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j := jobs.WithDefaults(validJob())
			tt.mutate(j)
			_, err := jobs.Validate(j)
			assert.Equal(t, []string{tt.wantField}, fieldsOf(t, err))
		})
	}
}

// TestValidateChecksConnectionStringsAsTheExecutorWill: a connection string is refused on write
// for what the executor would refuse before connecting, with the reason; one that holds
// templates waits for them to be filled, before each run.
func TestValidateChecksConnectionStringsAsTheExecutorWill(t *testing.T) {
	t.Parallel()
	sqlJob := func(driver, dsn string) *domain.Job {
		j := jobs.WithDefaults(validJob())
		j.Kind, j.HTTP = domain.KindSQL, nil
		j.SQL = &domain.SQLSpec{Driver: driver, DSN: dsn, Statements: []domain.SQLStatement{{SQL: "SELECT 1"}}}
		return j
	}
	_, err := jobs.Validate(sqlJob(domain.DriverPostgres, "postgres://u:{{ var.DB_PASSWORD }}@db/x?ssl%72ootcert=/etc/ssl/private/ca.pem"))
	var verr *domain.ValidationError
	require.ErrorAs(t, err, &verr)
	require.Equal(t, []domain.FieldError{{Field: "sql.dsn", Reason: `the "sslrootcert" parameter is not allowed: it reads a file of the executor's host`}}, verr.Fields)
	require.NotContains(t, err.Error(), "/etc/ssl", "the reason never quotes the DSN")

	// Both faults of one string are named, and the password is never repeated.
	_, err = jobs.Validate(sqlJob(domain.DriverMySQL, "u:hunter2@tcp(db:3306)/x?allowAllFiles=true"))
	require.ErrorAs(t, err, &verr)
	require.Equal(t, []domain.FieldError{
		{Field: "sql.dsn", Reason: "holds a password in clear; keep it in a secret variable and refer to it, e.g. {{ var.DB_PASSWORD }} in place of the password, or keep the whole connection string in one"},
		{Field: "sql.dsn", Reason: `the "allowAllFiles" parameter is not allowed: it lets the server read any file of the executor's host (LOAD DATA LOCAL INFILE)`},
	}, verr.Fields)
	require.NotContains(t, err.Error(), "hunter2")

	for _, ok := range []*domain.Job{
		sqlJob(domain.DriverPostgres, "{{ var.REPORTS_DSN }}"),
		sqlJob(domain.DriverPostgres, "postgres://etl:{{ var.PW }}@db/x?sslmode=verify-full"),
		sqlJob(domain.DriverPostgres, "postgres://etl@db.internal:5432/reports?sslmode=require&application_name=nightly"),
		sqlJob(domain.DriverMySQL, "etl@tcp(db.internal:3306)/shop?tls=true"),
		sqlJob(domain.DriverOracle, "oracle://etl:{{ var.DB_PASSWORD }}@db.internal:1521/ORCLPDB1"),
		sqlJob(domain.DriverOracle, "oracle://etl:{{ var.DB_PASSWORD | urlquery }}@{{ var.DB_HOST }}:1521/ORCLPDB1"),
		sqlJob(domain.DriverMySQL, "etl:{{ var.DB_PASSWORD }}@tcp(db.internal:3306)/shop"),
	} {
		_, err := jobs.Validate(ok)
		require.NoError(t, err, ok.SQL.DSN)
	}
}

// TestValidateTags: tags are normalised (trimmed, each once, sorted) and each is checked; an
// error names the item as the user wrote it, and says why.
func TestValidateTags(t *testing.T) {
	t.Parallel()
	j := validJob()
	j.Tags = []string{" team:payments ", "env/prod", "team:payments", "nightly"}
	jobs.WithDefaults(j)
	_, err := jobs.Validate(j)
	require.NoError(t, err)
	require.Equal(t, []string{"env/prod", "nightly", "team:payments"}, j.Tags)

	for name, c := range map[string]struct {
		tags  []string
		field string
	}{
		"TooLong":    {[]string{"ok", strings.Repeat("x", 64)}, "tags[1]"},
		"Uppercase":  {[]string{"Payments"}, "tags[0]"},
		"Script":     {[]string{"a", "b", "<script>"}, "tags[2]"},
		"Empty":      {[]string{""}, "tags[0]"},
		"Blank":      {[]string{"a", "   "}, "tags[1]"},
		"Unicode":    {[]string{"thuế"}, "tags[0]"},
		"LeadingDot": {[]string{".hidden"}, "tags[0]"},
		"TooMany": {func() []string {
			var l []string
			for i := range 21 {
				l = append(l, fmt.Sprint("t", i))
			}
			return l
		}(), "tags"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			j := validJob()
			j.Tags = c.tags
			jobs.WithDefaults(j)
			_, err := jobs.Validate(j)
			require.Equal(t, []string{c.field}, fieldsOf(t, err))
		})
	}
}
