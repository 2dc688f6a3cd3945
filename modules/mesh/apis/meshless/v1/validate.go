package v1

import (
	"slices"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Limits of a canary weight, as in the CRD schema.
const (
	MinWeight = 0
	MaxWeight = 100
)

// ValidateName reports why name cannot name a Meshlet. It has the signature of the
// apimachinery name validators so that generic metadata validation can use it. A meshlet
// name is a label of the Service ID, so it must be a DNS-1123 label, not a subdomain.
func ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSLabel(name, prefix)
}

// Validate reports every way m breaks the rules that the Meshlet CRD schema enforces, so
// that sources that do not go through an API server (manifest files, tests) reject what an
// API server would. It checks the object metadata too: the namespace must be set.
func (m *Meshlet) Validate() field.ErrorList {
	errs := apivalidation.ValidateObjectMeta(&m.ObjectMeta, true, ValidateName, field.NewPath("metadata"))
	return append(errs, m.Spec.Validate(field.NewPath("spec"))...)
}

// Validate reports every way s breaks the Meshlet schema; path is where s sits in its
// object, usually "spec".
func (s *MeshletSpec) Validate(path *field.Path) field.ErrorList {
	errs := validateClient(s.Client, path.Child("client"))
	if s.Server != nil {
		errs = append(errs, s.Server.validate(path.Child("server"))...)
	}
	return errs
}

func validateClient(refs []ServiceRef, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := make(map[ServiceRef]bool, len(refs))
	for i, ref := range refs {
		p := path.Index(i)
		errs = append(errs, validateLabel(ref.Namespace, p.Child("namespace"))...)
		errs = append(errs, validateLabel(ref.Meshlet, p.Child("meshlet"))...)
		errs = append(errs, validateLabel(ref.Service, p.Child("service"))...)
		// The CRD lists client as a map keyed by all three fields: a repeat is rejected.
		if seen[ref] {
			errs = append(errs, field.Duplicate(p, ref.ID()))
		}
		seen[ref] = true
	}
	return errs
}

func (s *Server) validate(path *field.Path) field.ErrorList {
	errs := validateSelector(s.Selector, path.Child("selector"))
	errs = append(errs, validateServices(s.Services, path.Child("services"))...)
	return append(errs, validateCanary(s.Canary, path.Child("canary"))...)
}

func validateSelector(selector map[string]string, path *field.Path) field.ErrorList {
	if len(selector) == 0 {
		return field.ErrorList{field.Required(path, "must select at least one label")}
	}
	// Labels are checked in key order so that the same selector always reports the same
	// errors in the same order.
	var errs field.ErrorList
	keys := make([]string, 0, len(selector))
	for k := range selector {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		errs = append(errs, metav1validation.ValidateLabels(map[string]string{k: selector[k]}, path.Key(k))...)
	}
	return errs
}

func validateServices(services []ServerService, path *field.Path) field.ErrorList {
	if len(services) == 0 {
		return field.ErrorList{field.Required(path, "must provide at least one service")}
	}
	var errs field.ErrorList
	seen := make(map[string]bool, len(services))
	for i, svc := range services {
		p := path.Index(i)
		errs = append(errs, validateLabel(svc.Name, p.Child("name"))...)
		if svc.Name != "" && seen[svc.Name] {
			errs = append(errs, field.Duplicate(p.Child("name"), svc.Name))
		}
		seen[svc.Name] = true
		if svc.MaxConn != nil && *svc.MaxConn < 1 {
			errs = append(errs, field.Invalid(p.Child("maxConn"), *svc.MaxConn, "must be at least 1; leave unset for no limit"))
		}
		if svc.IdleTimeout != nil && svc.IdleTimeout.Duration < 0 {
			errs = append(errs, field.Invalid(p.Child("idleTimeout"), svc.IdleTimeout.Duration.String(), "must not be negative"))
		}
	}
	return errs
}

func validateCanary(versions []CanaryVersion, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := make(map[string]bool, len(versions))
	for i, v := range versions {
		p := path.Index(i)
		if v.Version == "" {
			errs = append(errs, field.Required(p.Child("version"), ""))
		} else {
			for _, msg := range validation.IsValidLabelValue(v.Version) {
				errs = append(errs, field.Invalid(p.Child("version"), v.Version, msg))
			}
			if seen[v.Version] {
				errs = append(errs, field.Duplicate(p.Child("version"), v.Version))
			}
			seen[v.Version] = true
		}
		if v.Weight < MinWeight || v.Weight > MaxWeight {
			errs = append(errs, field.Invalid(p.Child("weight"), v.Weight, validation.InclusiveRangeError(MinWeight, MaxWeight)))
		}
	}
	return errs
}

// validateLabel checks a required name that must be a DNS-1123 label.
func validateLabel(value string, path *field.Path) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(value) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}
