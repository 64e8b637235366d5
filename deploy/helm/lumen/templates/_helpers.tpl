{{- define "lumen.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lumen.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "lumen.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ include "lumen.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "lumen.selector" -}}
app.kubernetes.io/name: {{ include "lumen.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "lumen.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- include "lumen.fullname" . -}}
{{- end -}}
{{- end -}}

{{- define "lumen.image" -}}
{{ printf "%s:%s" .Values.image.repository .Values.image.tag | quote }}
{{- end -}}

{{/* The LUMEN_* environment shared by the API, the workers and the migration job. */}}
{{- define "lumen.env" -}}
- name: LUMEN_PROFILE
  value: production
- name: LUMEN_DATABASE__URL_FILE
  value: /run/secrets/lumen/database_url
- name: LUMEN_DATABASE__AUTO_MIGRATE
  value: "false"
- name: LUMEN_KV__BACKEND
  value: redis
- name: LUMEN_KV__URL_FILE
  value: /run/secrets/lumen/redis_url
- name: LUMEN_VECTOR_STORE__BACKEND
  value: server
- name: LUMEN_VECTOR_STORE__URL
  value: {{ .Values.config.qdrant.url | quote }}
- name: LUMEN_VECTOR_STORE__API_KEY_FILE
  value: /run/secrets/lumen/qdrant_api_key
- name: LUMEN_LLM__BACKEND
  value: openai
- name: LUMEN_LLM__BASE_URL
  value: {{ .Values.config.llm.baseUrl | quote }}
- name: LUMEN_LLM__MODEL
  value: {{ .Values.config.llm.model | quote }}
- name: LUMEN_LLM__CONTEXT_WINDOW
  value: {{ .Values.config.llm.contextWindow | quote }}
- name: LUMEN_LLM__API_KEY_FILE
  value: /run/secrets/lumen/llm_api_key
- name: LUMEN_SECURITY__KEY_FILE
  value: /run/secrets/lumen/keys.json
- name: LUMEN_API__TRUST_FORWARDED_FOR
  value: "true"
- name: LUMEN_LOGGING__FORMAT
  value: {{ .Values.config.logFormat | quote }}
- name: LUMEN_LOGGING__LEVEL
  value: {{ .Values.config.logLevel | quote }}
- name: LUMEN_OBSERVABILITY__SENTRY_ENVIRONMENT
  value: {{ .Values.config.sentry.environment | quote }}
- name: LUMEN_OBSERVABILITY__SENTRY_DSN
  valueFrom:
    secretKeyRef:
      name: {{ include "lumen.secretName" . }}
      key: sentry_dsn
      optional: true
{{- range $name, $value := .Values.config.extraEnv }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{- define "lumen.volumeMounts" -}}
- name: secrets
  mountPath: /run/secrets/lumen
  readOnly: true
- name: data
  mountPath: /var/lib/lumen
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "lumen.volumes" -}}
- name: secrets
  secret:
    secretName: {{ include "lumen.secretName" . }}
    defaultMode: 0440
- name: data
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- end -}}

{{/* Egress every Lumen pod needs: DNS. */}}
{{- define "lumen.dnsEgress" -}}
- to:
    - namespaceSelector: {}
      podSelector:
        matchLabels:
          k8s-app: kube-dns
  ports:
    - {protocol: UDP, port: 53}
    - {protocol: TCP, port: 53}
{{- end -}}
