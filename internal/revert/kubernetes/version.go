package kubernetes

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Annotations and labels the Deployment controller and kubectl use.
const (
	RevisionAnnotation    = "deployment.kubernetes.io/revision"
	ChangeCauseAnnotation = "kubernetes.io/change-cause"
	PodTemplateHashLabel  = appsv1.DefaultDeploymentUniqueLabelKey
	revisionPrefix        = "revision:"
)

// Revision is one ReplicaSet of a Deployment: a version that ran, or runs.
type Revision struct {
	Number          int64
	Version         string
	Image           string
	PodTemplateHash string
	ChangeCause     string
	Created         time.Time
	// Name is the ReplicaSet's name (in service-selector mode: the
	// Deployment's).
	Name        string
	template    corev1.PodTemplateSpec
	annotations map[string]string
	available   int32
}

// matches reports whether to names this revision: its version, its image or
// "revision:N".
func (r Revision) matches(to string) bool {
	if n, ok := strings.CutPrefix(to, revisionPrefix); ok {
		return n == strconv.FormatInt(r.Number, 10)
	}
	return to == r.Version || (r.Image != "" && to == r.Image)
}

// containerFor picks the configured container, or the only one.
func containerFor(spec *corev1.PodSpec, name string) (*corev1.Container, error) {
	for i := range spec.Containers {
		if name == "" && len(spec.Containers) == 1 || spec.Containers[i].Name == name {
			return &spec.Containers[i], nil
		}
	}
	if name == "" {
		return nil, fmt.Errorf("pod has %d containers: set container", len(spec.Containers))
	}
	return nil, fmt.Errorf("pod has no container %q", name)
}

// versionOf names the version a pod template runs: the first of labelKeys
// present on the template, else the tag (or digest) of the container image.
func versionOf(tpl *corev1.PodTemplateSpec, container string, labelKeys ...string) (version, image string) {
	if c, err := containerFor(&tpl.Spec, container); err == nil {
		image = c.Image
	}
	for _, k := range labelKeys {
		if v := tpl.Labels[k]; v != "" {
			return v, image
		}
	}
	return imageTag(image), image
}

// imageTag returns the tag of an image reference, its digest when pinned,
// or the whole reference when it has neither.
func imageTag(image string) string {
	if i := strings.LastIndex(image, "@"); i >= 0 {
		return image[i+1:]
	}
	name := image[strings.LastIndex(image, "/")+1:]
	if i := strings.LastIndex(name, ":"); i >= 0 {
		return name[i+1:]
	}
	return image
}

// equalIgnoreHash compares pod templates as kubectl's rollback does: the
// pod-template-hash label, which the controller adds, does not count.
func equalIgnoreHash(a, b *corev1.PodTemplateSpec) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	delete(a.Labels, PodTemplateHashLabel)
	delete(b.Labels, PodTemplateHashLabel)
	if len(a.Labels) == 0 {
		a.Labels = nil
	}
	if len(b.Labels) == 0 {
		b.Labels = nil
	}
	return equality.Semantic.DeepEqual(a, b)
}

// revisionNumber parses the revision annotation; 0 when absent or invalid.
func revisionNumber(meta *metav1.ObjectMeta) int64 {
	n, err := strconv.ParseInt(meta.Annotations[RevisionAnnotation], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// listRevisions returns the ReplicaSets the Deployment controls, newest
// revision first.
func listRevisions(ctx context.Context, cs kubernetes.Interface, d *appsv1.Deployment, container string) ([]Revision, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("deployment %s selector: %w", d.Name, err)
	}
	list, err := cs.AppsV1().ReplicaSets(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("list replicasets of %s: %w", d.Name, err)
	}
	var revs []Revision
	for i := range list.Items {
		rs := &list.Items[i]
		if owner := metav1.GetControllerOf(rs); owner == nil || owner.UID != d.UID {
			continue
		}
		revs = append(revs, revisionOf(rs, container))
	}
	sort.SliceStable(revs, func(i, j int) bool { return revs[i].Number > revs[j].Number })
	return revs, nil
}

func revisionOf(rs *appsv1.ReplicaSet, container string) Revision {
	version, image := versionOf(&rs.Spec.Template, container, VersionLabel)
	return Revision{
		Number:          revisionNumber(&rs.ObjectMeta),
		Version:         version,
		Image:           image,
		PodTemplateHash: rs.Labels[PodTemplateHashLabel],
		ChangeCause:     rs.Annotations[ChangeCauseAnnotation],
		Created:         rs.CreationTimestamp.Time,
		Name:            rs.Name,
		template:        rs.Spec.Template,
		annotations:     rs.Annotations,
	}
}

// pickRevision chooses the revision to restore. An empty to means the
// newest revision older than the current one whose version differs.
func pickRevision(revs []Revision, current *corev1.PodTemplateSpec, currentVersion, to string) (Revision, error) {
	if to == "" {
		for _, r := range revs {
			if r.Version != currentVersion && !equalIgnoreHash(&r.template, current) {
				return r, nil
			}
		}
		return Revision{}, ErrNothingToRevert
	}
	for _, r := range revs {
		if r.matches(to) {
			return r, nil
		}
	}
	if len(revs) < 2 {
		return Revision{}, fmt.Errorf("%w: no revision runs %q", ErrNothingToRevert, to)
	}
	return Revision{}, fmt.Errorf("%w: %q (known: %s)", ErrUnknownVersion, to, knownVersions(revs))
}

func knownVersions(revs []Revision) string {
	names := make([]string, 0, len(revs))
	for _, r := range revs {
		names = append(names, fmt.Sprintf("%d=%s", r.Number, r.Version))
	}
	return strings.Join(names, ", ")
}
