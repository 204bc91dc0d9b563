{{/*
Labels every object of the release carries. The monitors select pods and Services by
app.kubernetes.io/instance, so every pod template carries it too.
*/}}
{{- define "vecron.labels" -}}
app.kubernetes.io/name: vecron
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/*
The name of a function's objects: <release>-<function>. Takes (dict "root" $ "fn" "tick").
Knative names a revision <service>-00001, so the name stays within 52 characters; a long
release name is cut, never the function's, so execute-http and execute-db stay apart.
*/}}
{{- define "vecron.name" -}}
{{- $release := .root.Release.Name | trunc (int (sub 52 (add1 (len .fn)))) | trimSuffix "-" -}}
{{- printf "%s-%s" $release .fn -}}
{{- end -}}

{{/* Selector labels of a function's pods. Takes (dict "root" $ "fn" "tick"). */}}
{{- define "vecron.selectorLabels" -}}
app.kubernetes.io/name: vecron
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .fn }}
{{- end -}}

{{/* All labels of a function's objects. Takes (dict "root" $ "fn" "tick"). */}}
{{- define "vecron.fnLabels" -}}
{{ include "vecron.labels" .root }}
app.kubernetes.io/component: {{ .fn }}
{{- end -}}

{{/*
The image of a function: <registry>/vecron-<function>:<tag>, or @<digest> when
image.digests names one. Takes (dict "root" $ "fn" "execute-db-oracle").
*/}}
{{- define "vecron.image" -}}
{{- $img := .root.Values.image -}}
{{- $digest := get $img.digests .fn -}}
{{- if $digest -}}
{{- printf "%s/vecron-%s@%s" $img.registry .fn $digest -}}
{{- else -}}
{{- printf "%s/vecron-%s:%s" $img.registry .fn (default .root.Chart.AppVersion $img.tag) -}}
{{- end -}}
{{- end -}}

{{/*
The functions the release runs, as a list of dicts: fn (the function's name, which names its
image and objects), role (tick, executor or api) and, for executors, kind (http or sql) and
values (its executors.<kind> values).
*/}}
{{- define "vecron.functions" -}}
{{- $fns := list (dict "fn" "tick" "role" "tick") -}}
{{- with .Values.executors.http -}}
{{- if .enabled -}}
{{- $fns = append $fns (dict "fn" "execute-http" "role" "executor" "kind" "http" "values" .) -}}
{{- end -}}
{{- end -}}
{{- with .Values.executors.sql -}}
{{- if .enabled -}}
{{- $fns = append $fns (dict "fn" (ternary "execute-db-oracle" "execute-db" .oracle) "role" "executor" "kind" "sql" "values" .) -}}
{{- end -}}
{{- end -}}
{{- $fns = append $fns (dict "fn" "api" "role" "api") -}}
{{- toJson $fns -}}
{{- end -}}

{{/*
The restricted container security context (Pod Security Standards "restricted"), allowed by
Knative Serving without any feature flag. The images run as 65532 and write nothing to disk.
*/}}
{{- define "vecron.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
A connection URL's env entry: from an existing Secret's key, the value given, or with
trial.enabled the bundled service's URL in the trial Secret (key <what>-url). Takes
(dict "name" "DATABASE_URL" "v" .Values.database "what" "database" "trial" <trial Secret or "">).
*/}}
{{- define "vecron.urlEnv" -}}
{{- if .v.existingSecret }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .v.existingSecret }}
      key: {{ .v.key }}
{{- else if .v.url }}
- name: {{ .name }}
  value: {{ .v.url | quote }}
{{- else if .trial }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .trial }}
      key: {{ .what }}-url
{{- else }}
{{- fail (printf "%s.url or %s.existingSecret is required: every function connects to it (or trial.enabled for a first look)" .what .what) }}
{{- end }}
{{- end -}}

{{/*
The env of a function's container. Takes (dict "root" $ "f" <a vecron.functions entry>).
Names are the functions' setting env names (functions/contract); the check module holds them
to it.
*/}}
{{- define "vecron.env" -}}
{{- $v := .root.Values -}}
{{- $trial := include "vecron.trialSecret" .root }}
{{- include "vecron.urlEnv" (dict "name" "DATABASE_URL" "v" $v.database "what" "database" "trial" $trial) }}
{{- include "vecron.urlEnv" (dict "name" "NATS_URL" "v" $v.nats "what" "nats" "trial" $trial) }}
{{- include "vecron.urlEnv" (dict "name" "REDIS_URL" "v" $v.redis "what" "redis" "trial" $trial) }}
{{- include "vecron.tlsEnv" (dict "service" "nats" "v" $v.nats.tls) }}
{{- include "vecron.tlsEnv" (dict "service" "redis" "v" $v.redis.tls) }}
{{- if $v.nats.credsSecret }}
- name: VECRON_NATS__CREDS_FILE
  value: /etc/vecron/nats/user.creds
{{- else if $v.nats.nkeySecret }}
- name: VECRON_NATS__NKEY_FILE
  value: /etc/vecron/nats/user.nk
{{- end }}
{{- /* Pre-warm only where executors scale from zero; the lead per mode is docs/deploy.md §8's. */}}
{{- $pw := $v.tick.prewarm | default dict }}
{{- if and (eq .f.role "tick") $pw.enabled (or (eq $v.mode "knative") $v.keda.enabled) }}
- name: VECRON_TICK__PREWARM__ENABLED
  value: "true"
{{- $lead := $pw.lead | default (ternary "5s" (printf "%ds" (add (int $v.keda.pollingInterval) 15)) (eq $v.mode "knative")) }}
{{- /* The binary refuses to start otherwise: a claimed fire counts its kind warm. */}}
{{- $lookahead := get (merge (dict) ($v.settings.tick | default dict) ($v.settings.all | default dict)) "tick.lookahead" }}
{{- if and $lookahead (le (float64 (include "vecron.durationMs" (dict "name" "tick.prewarm.lead" "value" $lead))) (float64 (include "vecron.durationMs" (dict "name" "tick.lookahead" "value" $lookahead)))) }}
{{- fail (printf "tick.prewarm.lead (%s) must be longer than tick.lookahead (%v): fires are claimed tick.lookahead ahead, and a claimed fire counts its kind warm, so no wake would ever be sent" $lead $lookahead) }}
{{- end }}
- name: VECRON_TICK__PREWARM__LEAD
  value: {{ $lead | quote }}
{{- with $pw.keep }}
- name: VECRON_TICK__PREWARM__KEEP
  value: {{ . | quote }}
{{- end }}
{{- with $pw.kinds }}
- name: VECRON_TICK__PREWARM__KINDS
  value: {{ join "," . | quote }}
{{- end }}
{{- end }}
{{- if and (eq .f.role "tick") (eq $v.mode "knative") }}
{{- /* Knative mode: executors take pushed events, so the tick forwards its due events to the
Broker (K_SINK, from the SinkBinding). */}}
- name: VECRON_FORWARD__ENABLED
  value: "true"
- name: VECRON_FORWARD__DEAD_LETTER_SINK
  value: {{ $v.tick.forward.deadLetterSink | default (include "vecron.deadLetterURL" .root) | quote }}
{{- end }}
{{- if ne .f.role "tick" }}
- name: VECRON_SECRETS__KEYS_FILE
  value: /etc/vecron/keys/secrets-keys
{{- end }}
{{- if eq .f.role "executor" }}
- name: VECRON_TRANSPORT
  value: {{ ternary "push" "pull" (eq $v.mode "knative") }}
{{- end }}
{{- if eq .f.role "api" }}
- name: VECRON_AUTH__SIGNING_KEYS_FILE
  value: /etc/vecron/keys/signing-keys
- name: VECRON_AUDIT__KEYS_FILE
  value: /etc/vecron/keys/audit-keys
{{- with $v.publicURL }}
- name: VECRON_PUBLIC_URL
  value: {{ . | quote }}
{{- end }}
{{- if $v.events.internalPort }}
- name: VECRON_EVENTS__INTERNAL_PORT
  value: {{ $v.events.internalPort | quote }}
- name: VECRON_EVENTS__INTERNAL_NAMESPACES
  value: {{ join "," $v.events.internalNamespaces | quote }}
{{- end }}
{{- if include "vecron.adminSecret" .root }}
- name: VECRON_AUTH__BOOTSTRAP_ADMIN
  value: {{ $v.admin.username | quote }}
- name: VECRON_AUTH__BOOTSTRAP_PASSWORD_FILE
  value: /etc/vecron/admin/password
{{- end }}
{{- end }}
{{- if ne (int $v.observability.metricsPort) 9464 }}
- name: VECRON_ADMIN__ADDR
  value: {{ printf ":%d" (int $v.observability.metricsPort) | quote }}
{{- end }}
{{- $settings := merge (dict) (get $v.settings .f.role | default dict) $v.settings.all }}
{{- range $key := keys $settings | sortAlpha }}
{{- $val := get $settings $key }}
{{- /* YAML numbers reach templates as float64: 1000000 would print as 1e+06. */}}
{{- if and (kindIs "float64" $val) (eq (floor $val) $val) }}
{{- $val = int64 $val }}
{{- end }}
- name: {{ printf "VECRON_%s" ($key | replace "." "__" | upper) }}
  value: {{ $val | toString | quote }}
{{- end }}
{{- end -}}

{{/*
The volumes of a function's pod. Takes (dict "root" $ "f" <a vecron.functions entry>). Secret
files are root-owned: readable by the image's user 65532 through fsGroup in deployment mode;
Knative refuses a pod securityContext's fsGroup unless kubernetes.podspec-securitycontext is on,
so there they are world-readable inside a container that runs one non-root process.
*/}}
{{- define "vecron.volumes" -}}
{{- $v := .root.Values -}}
{{- $mode := ternary 0444 0440 (eq $v.mode "knative") -}}
{{- if ne .f.role "tick" }}
- name: keys
  secret:
    secretName: {{ required "secrets.existingSecret is required: the Secret holding secrets-keys, signing-keys and audit-keys (or trial.enabled for a first look)" ($v.secrets.existingSecret | default (include "vecron.trialSecret" .root)) }}
    defaultMode: {{ $mode }}
{{- end }}
{{- with and (eq .f.role "api") (include "vecron.adminSecret" .root) }}
- name: admin
  secret:
    secretName: {{ . }}
    defaultMode: {{ $mode }}
    items:
      - key: {{ ternary $v.admin.passwordKey "password" (ne $v.admin.existingSecret "") }}
        path: password
{{- end }}
{{- with $v.database.tls.existingSecret }}
- name: postgres-tls
  secret:
    secretName: {{ . }}
    defaultMode: {{ $mode }}
{{- end }}
{{- range $svc := list "nats" "redis" }}
{{- $t := (get $v $svc).tls }}
{{- if $t.existingSecret }}
- name: {{ $svc }}-tls
  secret:
    secretName: {{ $t.existingSecret }}
    defaultMode: {{ $mode }}
    # Only the keys named, under fixed names: a key missing from the Secret stops the pod at
    # the mount, not at the first connection.
    items:
      {{- with $t.caKey }}
      - key: {{ . }}
        path: ca.crt
      {{- end }}
      {{- if $t.certKey }}
      - key: {{ $t.certKey }}
        path: tls.crt
      - key: {{ required (printf "%s.tls.keyKey is required with %s.tls.certKey" $svc $svc) $t.keyKey }}
        path: tls.key
      {{- end }}
{{- end }}
{{- end }}
{{- if and $v.nats.credsSecret $v.nats.nkeySecret }}
{{- fail "nats.credsSecret and nats.nkeySecret: one way to sign in, not both" }}
{{- end }}
{{- if or $v.nats.credsSecret $v.nats.nkeySecret }}
- name: nats-credentials
  secret:
    secretName: {{ $v.nats.credsSecret | default $v.nats.nkeySecret }}
    defaultMode: {{ $mode }}
    items:
      {{- if $v.nats.credsSecret }}
      - key: {{ $v.nats.credsKey }}
        path: user.creds
      {{- else }}
      - key: {{ $v.nats.nkeyKey }}
        path: user.nk
      {{- end }}
{{- end }}
{{- end -}}

{{/* The volume mounts of a function's container, beside vecron.volumes. */}}
{{- define "vecron.volumeMounts" -}}
{{- $v := .root.Values -}}
{{- if ne .f.role "tick" }}
- name: keys
  mountPath: /etc/vecron/keys
  readOnly: true
{{- end }}
{{- if and (eq .f.role "api") (include "vecron.adminSecret" .root) }}
- name: admin
  mountPath: /etc/vecron/admin
  readOnly: true
{{- end }}
{{- if $v.database.tls.existingSecret }}
- name: postgres-tls
  mountPath: /etc/vecron/tls/postgres
  readOnly: true
{{- end }}
{{- range $svc := list "nats" "redis" }}
{{- if (get $v $svc).tls.existingSecret }}
- name: {{ $svc }}-tls
  mountPath: /etc/vecron/tls/{{ $svc }}
  readOnly: true
{{- end }}
{{- end }}
{{- if or $v.nats.credsSecret $v.nats.nkeySecret }}
- name: nats-credentials
  mountPath: /etc/vecron/nats
  readOnly: true
{{- end }}
{{- end -}}

{{/* The resources of a function. Takes (dict "root" $ "f" <a vecron.functions entry>). */}}
{{- define "vecron.resources" -}}
{{- if eq .f.role "executor" -}}
{{- toYaml .f.values.resources -}}
{{- else -}}
{{- toYaml (get .root.Values .f.role).resources -}}
{{- end -}}
{{- end -}}

{{/*
The tick's anti-affinity: replicas on different nodes where the cluster has them, so a node
lost takes one shard owner, not all. Takes the root context.
*/}}
{{- define "vecron.tickAffinity" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "vecron.selectorLabels" (dict "root" . "fn" "tick") | nindent 12 }}
{{- end -}}

{{/*
The tick's spread across zones (tick.spreadZones): a zone lost takes at most its share of the
shard owners. ScheduleAnyway, so a cluster with one zone still schedules. Takes the root context.
*/}}
{{- define "vecron.tickSpread" -}}
- maxSkew: 1
  topologyKey: topology.kubernetes.io/zone
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "vecron.selectorLabels" (dict "root" . "fn" "tick") | nindent 6 }}
{{- end -}}

{{/*
The api's sign-in modes (auth.modes from settings.api over settings.all; the binary's default is
database), as a string to test with contains. Takes the root context.
*/}}
{{- define "vecron.authModes" -}}
{{- $s := merge (dict) (.Values.settings.api | default dict) (.Values.settings.all | default dict) -}}
{{- get $s "auth.modes" | default "database" | toString -}}
{{- end -}}

{{/*
The Secret holding the first admin's password: admin.existingSecret, or <release>-admin, which
the chart generates when the api signs users in from its database (admin.generate). Empty:
none. Takes the root context.
*/}}
{{- define "vecron.adminSecret" -}}
{{- if .Values.admin.existingSecret -}}
{{- .Values.admin.existingSecret -}}
{{- else if and .Values.admin.generate (contains "database" (include "vecron.authModes" .)) -}}
{{- include "vecron.name" (dict "root" . "fn" "admin") -}}
{{- end -}}
{{- end -}}

{{/*
The TLS file settings of a connection from its mounted Secret (vecron.volumes). Takes
(dict "service" "nats" "v" .Values.nats.tls).
*/}}
{{- define "vecron.tlsEnv" -}}
{{- $p := printf "VECRON_%s__TLS__" (upper .service) -}}
{{- if .v.existingSecret }}
{{- if .v.caKey }}
- name: {{ $p }}CA_FILE
  value: /etc/vecron/tls/{{ .service }}/ca.crt
{{- end }}
{{- if .v.certKey }}
- name: {{ $p }}CERT_FILE
  value: /etc/vecron/tls/{{ .service }}/tls.crt
- name: {{ $p }}KEY_FILE
  value: /etc/vecron/tls/{{ .service }}/tls.key
{{- end }}
{{- end }}
{{- with .v.serverName }}
- name: {{ $p }}SERVER_NAME
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{/*
The Secret of the bundled trial services (trial.enabled): <release>-trial. Empty: none. Takes the
root context.
*/}}
{{- define "vecron.trialSecret" -}}
{{- if .Values.trial.enabled -}}
{{- include "vecron.name" (dict "root" . "fn" "trial") -}}
{{- end -}}
{{- end -}}

{{/*
Selector labels of a bundled trial service's pods. Their name is the service's, not vecron's, so
no policy or monitor of vecron's functions selects them. Takes (dict "root" $ "svc" "postgres").
*/}}
{{- define "vecron.trialSelectorLabels" -}}
app.kubernetes.io/name: {{ .svc }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: trial
{{- end -}}

{{/*
All labels of a bundled trial service's objects. Takes (dict "root" $ "svc" "postgres").
*/}}
{{- define "vecron.trialLabels" -}}
{{ include "vecron.trialSelectorLabels" . }}
app.kubernetes.io/part-of: vecron
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/*
A Go duration (1m30s, 1250ms, 1500us) in milliseconds, for comparing two settings. Takes a dict:
name (the setting, for the error) and value. A value that is not a whole Go duration (a bare
number, a unit Go does not know, anything left over) fails the render naming both: read as 0,
it would pass or fail a comparison for no reason the user could see.
*/}}
{{- define "vecron.durationMs" -}}
{{- $s := toString .value -}}
{{- $part := "([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)" -}}
{{- if not (or (regexMatch "^[-+]?0$" $s) (regexMatch (printf "^[-+]?(%s)+$" $part) $s)) -}}
{{- fail (printf "%s: %q is not a Go duration: a number and a unit (ns, us, ms, s, m, h) for each part, as in 1m30s or 1250ms" .name $s) -}}
{{- end -}}
{{- $ms := 0.0 -}}
{{- range regexFindAll $part $s -1 -}}
{{- $num := regexFind "^([0-9]+(\\.[0-9]*)?|\\.[0-9]+)" . -}}
{{- $ms = addf $ms (mulf (float64 $num) (get (dict "ns" 0.000001 "us" 0.001 "µs" 0.001 "μs" 0.001 "ms" 1 "s" 1000 "m" 60000 "h" 3600000) (trimPrefix $num .))) -}}
{{- end -}}
{{- if hasPrefix "-" $s }}{{ $ms = mulf $ms -1 }}{{ end -}}
{{- $ms -}}
{{- end -}}

{{/*
An ISO 8601 duration as the schema allows it (P1D, PT1H30M, PT2.5S) in milliseconds, for
comparing it with a setting.
*/}}
{{- define "vecron.isoMs" -}}
{{- $ms := 0.0 -}}
{{- $parts := splitList "T" (trimPrefix "P" (toString .)) -}}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?D" (first $parts) -1 -}}
{{- $ms = addf $ms (mulf (float64 (trimSuffix "D" .)) 86400000) -}}
{{- end -}}
{{- if gt (len $parts) 1 -}}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?[HMS]" (last $parts) -1 -}}
{{- $num := regexFind "^[0-9]+(\\.[0-9]+)?" . -}}
{{- $ms = addf $ms (mulf (float64 $num) (get (dict "H" 3600000 "M" 60000 "S" 1000) (trimPrefix $num .))) -}}
{{- end -}}
{{- end -}}
{{- $ms -}}
{{- end -}}

{{/*
The Broker due events go through: eventing.broker.name, or <release>-broker. Takes the root
context.
*/}}
{{- define "vecron.brokerName" -}}
{{- if .Values.eventing.broker.name -}}
{{- .Values.eventing.broker.name -}}
{{- else if .Values.eventing.broker.create -}}
{{- include "vecron.name" (dict "root" . "fn" "broker") -}}
{{- else -}}
{{- fail "eventing.broker.name is required with eventing.broker.create false: the existing broker the Triggers and the SinkBinding use" -}}
{{- end -}}
{{- end -}}

{{/*
The plain Service in front of the api's internal events listener (knative mode): the Triggers'
dead-letter sink, the tick's forward.dead_letter_sink and events.trigger's subscriber. Knative
routes one port of a Service, through the activator, so this one goes to the pods directly.
Knative mode refuses to render without the listener. Takes the root context.
*/}}
{{- define "vecron.apiEventsName" -}}
{{- if not .Values.events.internalPort -}}
{{- fail "events.internalPort is required in knative mode: the Triggers' dead-letter sink and the tick's forward.dead_letter_sink are the api's internal /dead-letter; set it (e.g. 8082) with events.internalNamespaces" -}}
{{- end -}}
{{- include "vecron.name" (dict "root" . "fn" "api-events") -}}
{{- end -}}

{{/* The api's internal /dead-letter, as the tick posts to it. Takes the root context. */}}
{{- define "vecron.deadLetterURL" -}}
{{- printf "http://%s.%s.svc.cluster.local/dead-letter" (include "vecron.apiEventsName" .) .Release.Namespace -}}
{{- end -}}

{{/*
The label sets of the broker dispatchers' pods in eventing.dataPlane.namespace, as JSON: the
values', or the class's — the broker filter (both classes label it so), and with
MTChannelBasedBroker the NatsJetStreamChannel dispatcher, which delivers a Trigger's dead
letters. Takes the root context.
*/}}
{{- define "vecron.dispatchers" -}}
{{- $d := .Values.eventing.dataPlane.dispatcherPodLabels -}}
{{- if not $d -}}
{{- $d = list (dict "eventing.knative.dev/brokerRole" "filter") -}}
{{- if eq .Values.eventing.broker.class "MTChannelBasedBroker" -}}
{{- $d = append $d (dict "messaging.knative.dev/channel" "jetstream-channel" "messaging.knative.dev/role" "dispatcher") -}}
{{- end -}}
{{- end -}}
{{- toJson $d -}}
{{- end -}}
