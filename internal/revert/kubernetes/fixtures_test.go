package kubernetes

import (
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

const testNS = "llm"

// podTemplate is the pod template of app running image at version.
func podTemplate(app, image string, extraLabels map[string]string) corev1.PodTemplateSpec {
	l := map[string]string{"app": app}
	for k, v := range extraLabels {
		l[k] = v
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: l},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "server", Image: image}},
		},
	}
}

// deployment returns a Deployment whose status says its rollout is complete.
func deployment(name string, replicas int32, tpl corev1.PodTemplateSpec) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: testNS, UID: types.UID("uid-" + name), Generation: 1,
			Annotations: map[string]string{RevisionAnnotation: "2"},
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": tpl.Labels["app"]}},
			Template: tpl,
		},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: 1, Replicas: replicas, UpdatedReplicas: replicas,
			ReadyReplicas: replicas, AvailableReplicas: replicas,
		},
	}
}

// replicaSet is revision rev of d, running tpl.
func replicaSet(d *appsv1.Deployment, rev int64, hash string, tpl corev1.PodTemplateSpec, cause string) *appsv1.ReplicaSet {
	tpl = *tpl.DeepCopy()
	tpl.Labels[PodTemplateHashLabel] = hash
	ann := map[string]string{RevisionAnnotation: strconv.FormatInt(rev, 10), "deployment.kubernetes.io/desired-replicas": "3"}
	if cause != "" {
		ann[ChangeCauseAnnotation] = cause
	}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("%s-%s", d.Name, hash), Namespace: d.Namespace,
			Labels: tpl.Labels, Annotations: ann,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: ptr.To(true),
			}},
		},
		Spec: appsv1.ReplicaSetSpec{Selector: d.Spec.Selector, Template: tpl},
	}
}
