#!/usr/bin/env python3
"""The statistical limit of the peers' scenario at a 1 s scrape.

A warm version serving RATE req/s starts failing FAULT of its requests at a
moment uniform within a scrape interval. The first scrape after the onset
holds N = RATE x scrape requests, a share f of them from after the onset.
A test at level ALPHA decides on that scrape only if its failures prove the
rate exceeds BOUND; otherwise the next scrape (all faulty) decides.

Printed: the failures the first scrape needs and the median onset -> deciding
scrape, for
  - an oracle that knows the onset (a fixed-sample likelihood-ratio test of
    BOUND against 2 x BOUND on that one scrape, no healthy history, no price
    for not knowing when the fault began): no anytime-valid guard can do
    better;
  - ripcord's guard (stats.RateTest): the same alternatives mixture, plus the
    weight of a start point opened WARM requests into the watch
    (stats.StartWeight), which is what an unknown onset costs.
Add the scrape -> switch delay measured by the bench (10-30 ms) to compare
with TestPeersScenario. Exact binomial sums; no randomness.

  python3 bench/prometheus/scrape_limit.py [rate] [warm_requests]
"""
import math
import sys

RATE = int(sys.argv[1]) if len(sys.argv) > 1 else 200
WARM = int(sys.argv[2]) if len(sys.argv) > 2 else 15 * RATE
BOUND, FAULT, ALPHA, ARGO = 0.05, 0.30, 0.01, 1.38
N = RATE  # requests in one 1 s scrape


def tail_mass(n):
    return 1 - 1 / math.log2(2 + (n - 1) / 100)


def start_weight(frm, to):  # stats.StartWeight for a batch after the start
    return 0.1 * (tail_mass(to) - tail_mass(frm))


def mixture_loge(bad, n, log_w):
    """log of Σ weight · LR for the three alternatives of stats.RateTest."""
    def odds(p):
        return p / (1 - p)

    def from_odds(o):
        return o / (1 + o)
    comps = [(2 * BOUND, 0.7), (from_odds(odds(BOUND) * 5), 0.15), (from_odds(odds(BOUND) * 30), 0.15)]
    terms = [math.log(w) + log_w + bad * math.log(p1 / BOUND) + (n - bad) * math.log((1 - p1) / (1 - BOUND))
             for p1, w in comps]
    m = max(terms)
    return m + math.log(sum(math.exp(t - m) for t in terms))


def oracle_loge(bad, n):
    p1 = 2 * BOUND
    return bad * math.log(p1 / BOUND) + (n - bad) * math.log((1 - p1) / (1 - BOUND))


def needed(loge):
    for k in range(N + 1):
        if loge(k) >= math.log(1 / ALPHA):
            return k
    return N + 1


def binom_tail(m, p, k):
    if k <= 0:
        return 1.0
    if k > m:
        return 0.0
    return sum(math.comb(m, j) * p**j * (1 - p) ** (m - j) for j in range(k, m + 1))


def median_time(k_needed, steps=2000):
    # T = f if the first scrape decides (its m = f·N faulty requests hold
    # ≥ k failures), else 1 + f. Find the median of T over f ~ U(0, 1).
    pts = []
    for i in range(steps):
        f = (i + 0.5) / steps
        p = binom_tail(round(f * N), FAULT, k_needed)
        pts.append((f, p / steps))
        pts.append((1 + f, (1 - p) / steps))
    pts.sort()
    acc = 0.0
    for t, w in pts:
        acc += w
        if acc >= 0.5:
            return t
    return pts[-1][0]


log_w = math.log(start_weight(WARM, WARM + N))
for name, fn in (("oracle (knows the onset)", lambda k: oracle_loge(k, N)),
                 ("ripcord's guard, %d requests into the watch" % WARM, lambda k: mixture_loge(k, N, log_w))):
    k = needed(fn)
    t = median_time(k)
    print("%-44s first scrape needs %3d of %d failing; median onset -> deciding scrape %.2f s = %.2fx Argo's %.2f s"
          % (name, k, N, t, t / ARGO, ARGO))
print("0.6x Argo is %.2f s; a version at exactly %.0f%% errors fails >= 18 of %d in %.1f%% of its scrapes"
      % (0.6 * ARGO, 100 * BOUND, N, 100 * binom_tail(N, BOUND, 18)))
