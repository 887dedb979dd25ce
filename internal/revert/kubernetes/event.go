package kubernetes

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Event fields ripcord writes.
const (
	EventReason     = "RipcordRollback"
	eventAction     = "Rollback"
	eventController = "ripcord.dev/ripcord"
	maxNoteLen      = 1024
)

func eventRegarding(d *appsv1.Deployment) corev1.ObjectReference {
	return corev1.ObjectReference{
		APIVersion:      "apps/v1",
		Kind:            "Deployment",
		Namespace:       d.Namespace,
		Name:            d.Name,
		UID:             d.UID,
		ResourceVersion: d.ResourceVersion,
	}
}

func serviceRef(s *corev1.Service) corev1.ObjectReference {
	return corev1.ObjectReference{
		APIVersion: "v1", Kind: "Service", Namespace: s.Namespace,
		Name: s.Name, UID: s.UID, ResourceVersion: s.ResourceVersion,
	}
}

// recordEvent writes an events.k8s.io/v1 Event (shown by `kubectl describe`
// and `kubectl events`) for a revert. The revert already happened, so a
// failure here is logged, not returned.
func (t *Target) recordEvent(ctx context.Context, regarding corev1.ObjectReference, note string) {
	if len(note) > maxNoteLen {
		note = note[:maxNoteLen]
	}
	now := t.now()
	ev := &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%s.%x", regarding.Name, now.UnixNano()),
			Namespace: regarding.Namespace,
		},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: eventController,
		ReportingInstance:   t.instance,
		Action:              eventAction,
		Reason:              EventReason,
		Regarding:           regarding,
		Note:                note,
		Type:                corev1.EventTypeNormal,
	}
	if ev.ReportingInstance == "" {
		ev.ReportingInstance = "ripcord"
	}
	if _, err := t.cs.EventsV1().Events(regarding.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		t.log.WarnContext(ctx, "could not record event", "object", regarding.Name, "err", err)
	}
}
