// Package check decodes what the vecron chart renders into the real Kubernetes and Knative
// types, strictly, validates the Knative Services as Serving's webhook would, and compares every
// workload with what the function binaries read and serve (functions/contract). The tests render
// each value set of testdata/values with the helm binary (deploy/render) and run these checks;
// each check has a test that a mutated manifest fails it (docs/deploy.md §10).
package check

import (
	"context"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/eventing/pkg/apis/feature"
	sourcesv1 "knative.dev/eventing/pkg/apis/sources/v1"
	"knative.dev/pkg/apis"
	servingconfig "knative.dev/serving/pkg/apis/config"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	asconfig "knative.dev/serving/pkg/autoscaler/config"
	"sigs.k8s.io/yaml"

	"github.com/vecron/vecron/deploy/crds"
	"github.com/vecron/vecron/deploy/render"
)

// Cluster is what the cluster a value set is meant for allows: the Knative Serving feature
// flags and autoscaler settings its values claim. Knative Services are validated with exactly
// these, the rest at Serving's defaults.
type Cluster struct {
	// PodSpecAffinity is config-features' kubernetes.podspec-affinity.
	PodSpecAffinity bool
	// PodSpecTopologySpread is config-features' kubernetes.podspec-topologyspreadconstraints.
	PodSpecTopologySpread bool
	// AllowZeroInitialScale is config-autoscaler's allow-zero-initial-scale.
	AllowZeroInitialScale bool
	// DeliveryRetryAfter is Eventing's config-features delivery-retryafter; Eventing's other
	// flags are at their defaults.
	DeliveryRetryAfter bool
	// Namespace is the namespace the objects are installed in (helm install gives the chart's
	// objects the release's): Eventing's webhook defaults references to it.
	Namespace string
	// OtherNamespaces are the namespaces besides the release's that the chart may put an object
	// in by naming it (the brokers' data plane, for the policy on their ingress); any other
	// metadata.namespace fails.
	OtherNamespaces []string
	// CRDs are the schemas of the custom resources the cluster has installed (crds.Load): a
	// custom resource is validated against its schema as the API server would, and one
	// without a schema here fails.
	CRDs *crds.Set
}

// Object is one decoded manifest.
type Object struct {
	// Source is the template the manifest came from.
	Source     string
	APIVersion string
	Kind       string
	Name       string
	// Value is the typed object: *appsv1.Deployment, *appsv1.StatefulSet (the trial's
	// bundled services), *corev1.Service, *corev1.ConfigMap,
	// *corev1.Secret, *networkingv1.Ingress, *networkingv1.NetworkPolicy,
	// *policyv1.PodDisruptionBudget, *servingv1.Service, *eventingv1.Broker, *eventingv1.Trigger,
	// *sourcesv1.SinkBinding or *CRDObject.
	Value any
}

func (o Object) String() string {
	return fmt.Sprintf("%s %s %q (%s)", o.APIVersion, o.Kind, o.Name, o.Source)
}

// CRDObject is an object of a custom resource whose Go types the module does not link; its
// spec is checked against the resource's published CRD schema (docs/deploy.md §10, step V3).
// Decoding it strictly checks the envelope and the metadata.
type CRDObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              map[string]any `json:"spec"`
}

// newObject returns a new object of the type a manifest of apiVersion and kind decodes into,
// or false for a kind the chart is not known to render.
func newObject(apiVersion, kind string) (any, bool) {
	switch apiVersion + " " + kind {
	case "apps/v1 Deployment":
		return new(appsv1.Deployment), true
	case "apps/v1 StatefulSet":
		return new(appsv1.StatefulSet), true
	case "v1 Service":
		return new(corev1.Service), true
	case "v1 ConfigMap":
		return new(corev1.ConfigMap), true
	case "networking.k8s.io/v1 Ingress":
		return new(networkingv1.Ingress), true
	case "networking.k8s.io/v1 NetworkPolicy":
		return new(networkingv1.NetworkPolicy), true
	case "policy/v1 PodDisruptionBudget":
		return new(policyv1.PodDisruptionBudget), true
	case "v1 Secret":
		return new(corev1.Secret), true
	case "serving.knative.dev/v1 Service":
		return new(servingv1.Service), true
	case "eventing.knative.dev/v1 Broker":
		return new(eventingv1.Broker), true
	case "eventing.knative.dev/v1 Trigger":
		return new(eventingv1.Trigger), true
	case "sources.knative.dev/v1 SinkBinding":
		return new(sourcesv1.SinkBinding), true
	case "monitoring.coreos.com/v1 PodMonitor",
		"monitoring.coreos.com/v1 ServiceMonitor",
		"monitoring.coreos.com/v1 PrometheusRule",
		"keda.sh/v1alpha1 ScaledObject",
		"keda.sh/v1alpha1 TriggerAuthentication":
		return new(CRDObject), true
	}
	return nil, false
}

// Decode decodes m into its type, refusing unknown and duplicate fields and unknown kinds, and
// validates a Knative Service for cluster. It returns an error naming the manifest when any of
// these fails.
func Decode(m render.Manifest, cluster Cluster) (Object, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(m.Body, &head); err != nil {
		return Object{}, fmt.Errorf("%s: not YAML: %w", m.Source, err)
	}
	o := Object{Source: m.Source, APIVersion: head.APIVersion, Kind: head.Kind, Name: head.Metadata.Name}
	v, ok := newObject(head.APIVersion, head.Kind)
	if !ok {
		return o, fmt.Errorf("%s: unknown kind: no check decodes it", o)
	}
	if err := yaml.UnmarshalStrict(m.Body, v); err != nil {
		return o, fmt.Errorf("%s: strict decode: %w", o, err)
	}
	o.Value = v
	if head.Metadata.Name == "" {
		return o, fmt.Errorf("%s: metadata.name is empty", o)
	}
	if err := validateMeta(v).ToAggregate(); err != nil {
		return o, fmt.Errorf("%s: %w", o, err)
	}
	if ns := v.(metav1.Object).GetNamespace(); ns != "" && !slices.Contains(cluster.OtherNamespaces, ns) {
		return o, fmt.Errorf("%s: metadata.namespace %q: the chart puts objects in the release's namespace, and only the brokers' ingress policy in %v", o, ns, cluster.OtherNamespaces)
	}
	switch t := v.(type) {
	case *servingv1.Service:
		if err := ValidateKnative(t, cluster); err != nil {
			return o, fmt.Errorf("%s: %w", o, err)
		}
	case *CRDObject:
		if err := validateCRD(m, cluster.CRDs); err != nil {
			return o, fmt.Errorf("%s: %w", o, err)
		}
	case eventingObject:
		if err := ValidateEventing(t, cluster); err != nil {
			return o, fmt.Errorf("%s: %w", o, err)
		}
	}
	return o, nil
}

// validateMeta validates what the API server validates of every object's metadata and a pod
// template's labels: names (a DNS label for Services, whose name becomes a host name; a DNS
// subdomain for the rest), label keys and values, annotation keys and size. The chart sets no
// namespace (helm install gives the release's) but on the brokers' ingress policy.
func validateMeta(v any) field.ErrorList {
	m, ok := v.(metav1.Object)
	if !ok {
		return nil
	}
	name := apivalidation.NameIsDNSSubdomain
	var template map[string]string
	switch t := v.(type) {
	case *corev1.Service:
		name = apivalidation.NameIsDNS1035Label
	case *servingv1.Service:
		name = apivalidation.NameIsDNS1035Label
		template = t.Spec.Template.Labels
	case *appsv1.Deployment:
		template = t.Spec.Template.Labels
	case *appsv1.StatefulSet:
		template = t.Spec.Template.Labels
	}
	// Every kind here is namespaced; the one object the chart puts in another namespace than
	// the release's (the brokers' ingress policy) names it, and that name is validated too.
	errs := apivalidation.ValidateObjectMetaAccessor(m, m.GetNamespace() != "", name, field.NewPath("metadata"))
	return append(errs, metavalidation.ValidateLabels(template, field.NewPath("spec", "template", "metadata", "labels"))...)
}

// ValidateKnative validates svc as Serving's admission webhook does on create — defaults
// first, then validation — in a cluster with the flags of cluster. Warnings pass (a valid
// Service gets some); it returns the errors.
func ValidateKnative(svc *servingv1.Service, cluster Cluster) error {
	features := map[string]string{}
	if cluster.PodSpecAffinity {
		features[servingconfig.FeaturePodSpecAffinity] = string(servingconfig.Enabled)
	}
	if cluster.PodSpecTopologySpread {
		features[servingconfig.FeaturePodSpecTopologySpreadConstraints] = string(servingconfig.Enabled)
	}
	feat, err := servingconfig.NewFeaturesConfigFromMap(features)
	if err != nil {
		return fmt.Errorf("serving features: %w", err)
	}
	as, err := asconfig.NewConfigFromMap(map[string]string{
		"allow-zero-initial-scale": fmt.Sprint(cluster.AllowZeroInitialScale),
	})
	if err != nil {
		return fmt.Errorf("serving autoscaler config: %w", err)
	}
	defaults, err := servingconfig.NewDefaultsConfigFromMap(nil)
	if err != nil {
		return fmt.Errorf("serving defaults: %w", err)
	}
	ctx := servingconfig.ToContext(context.Background(), &servingconfig.Config{Features: feat, Autoscaler: as, Defaults: defaults})
	ctx = apis.WithinCreate(ctx)
	s := svc.DeepCopy()
	s.SetDefaults(ctx)
	if err := s.Validate(ctx).Filter(apis.ErrorLevel); err != nil {
		return fmt.Errorf("knative validation: %w", err)
	}
	return nil
}

// validateCRD validates a custom resource's whole manifest against its CRD's schema in set.
// The envelope was decoded strictly already; the schema is what knows the spec.
func validateCRD(m render.Manifest, set *crds.Set) error {
	if set == nil {
		return fmt.Errorf("crd schema: no CRD schemas given (Cluster.CRDs)")
	}
	var doc map[string]any
	if err := yaml.Unmarshal(m.Body, &doc); err != nil {
		return fmt.Errorf("crd schema: %w", err)
	}
	if err := set.Validate(doc); err != nil {
		return fmt.Errorf("crd schema: %w", err)
	}
	return nil
}

// eventingObject is a Knative Eventing object: a Broker, a Trigger or a SinkBinding.
type eventingObject interface {
	metav1.Object
	apis.Defaultable
	apis.Validatable
}

// ValidateEventing validates obj as Eventing's admission webhook does on create — defaults
// first, then validation — in a cluster with the flags of cluster, the object in
// cluster.Namespace. Warnings pass; it returns the errors.
func ValidateEventing(obj eventingObject, cluster Cluster) error {
	flags, err := feature.NewFlagsConfigFromMap(map[string]string{
		feature.DeliveryRetryAfter: string(map[bool]feature.Flag{true: feature.Enabled, false: feature.Disabled}[cluster.DeliveryRetryAfter]),
	})
	if err != nil {
		return fmt.Errorf("eventing features: %w", err)
	}
	ctx := apis.WithinCreate(feature.ToContext(context.Background(), flags))
	var o eventingObject
	switch t := obj.(type) {
	case *eventingv1.Broker:
		o = t.DeepCopy()
	case *eventingv1.Trigger:
		o = t.DeepCopy()
	case *sourcesv1.SinkBinding:
		o = t.DeepCopy()
	default:
		return fmt.Errorf("eventing validation: %T is not an Eventing object", obj)
	}
	if o.GetNamespace() == "" {
		o.SetNamespace(cluster.Namespace)
	}
	o.SetDefaults(ctx)
	if err := o.Validate(ctx).Filter(apis.ErrorLevel); err != nil {
		return fmt.Errorf("eventing validation: %w", err)
	}
	return nil
}
