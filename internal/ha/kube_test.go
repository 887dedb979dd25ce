package ha

import (
	"testing"
	"time"

	"k8s.io/client-go/tools/leaderelection"

	"github.com/ripcord/ripcord/internal/config"
)

// TestElectionTimes: for every lease_ttl a Kubernetes Lease may have, the
// settings are ones client-go accepts, and a leader has stopped acting a
// tenth of the TTL before a follower, which may see the Lease's renewal
// time up to a second late, could take over.
func TestElectionTimes(t *testing.T) {
	for ttl := config.MinKubeLeaseTTL; ttl <= 120*time.Second; ttl += time.Second {
		renewDeadline, retry := electionTimes(ttl)
		if renewDeadline <= time.Duration(leaderelection.JitterFactor*float64(retry)) || ttl <= renewDeadline {
			t.Errorf("ttl %s: renew deadline %s, retry %s: client-go refuses them", ttl, renewDeadline, retry)
		}
		if stops, followerMay := retry+renewDeadline, ttl-time.Second; followerMay-stops < ttl/10 {
			t.Errorf("ttl %s: the leader stops %s after its last renewal, a follower may act after %s", ttl, stops, followerMay)
		}
	}
}
