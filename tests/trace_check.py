#!/usr/bin/env python3
"""Check a timeline written by TERN_TRACE for an mp_stats run (1000 pings from PE 0 to
the element on the last PE, a call, a reduction):
  - it is one JSON array of Trace Event Format events, each well formed for its phase
    (M: metadata; X: complete, with ts and dur; s/f: flow start/end with an id; i: instant);
  - every PE has its track (process_name "PE n");
  - the last PE ran El.ping 1000 times, each fed by a message (a flow end);
  - every flow end has its start; methods on a PE do not overlap and come in time order;
  - with HOSTS > 1 (emulated hosts: one clock, so the true offset is 0), the PEs of the
    other hosts than PE 0's say what offset to PE 0's clock they measured in 16 rounds
    before main started (within its bound of 0; on a loaded machine a round may take
    some ms), PE 0's host's PEs none; arrows do not run back in time by more than the
    bounds of their two ends.
    trace_check.py FILE NPES [HOSTS]"""
import json
import sys

path, npes = sys.argv[1], int(sys.argv[2])
hosts = int(sys.argv[3]) if len(sys.argv) > 3 else 1
ev = json.load(open(path))
fail = []
if not isinstance(ev, list):
    sys.exit("FAIL: not a JSON array")
need = {"M": ("name", "pid", "args"), "X": ("name", "pid", "tid", "ts", "dur"),
        "s": ("id", "pid", "tid", "ts"), "f": ("id", "pid", "tid", "ts", "bp"),
        "i": ("name", "pid", "ts", "s")}
for e in ev:
    ph = e.get("ph")
    if ph not in need or any(k not in e for k in need[ph]):
        fail.append("malformed event %r" % e)
        break
    if ph != "M" and not isinstance(e["ts"], (int, float)):
        fail.append("bad ts %r" % e)
        break
names = {e["pid"]: e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "process_name"}
for p in range(npes):
    if names.get(p) != "PE %d" % p:
        fail.append("no track for PE %d" % p)
pings = [e for e in ev if e["ph"] == "X" and e["name"] == "El.ping"]
if len(pings) != 1000 or any(e["pid"] != npes - 1 for e in pings):
    fail.append("%d El.ping events, on PEs %s" % (len(pings), sorted({e["pid"] for e in pings})))
starts = {e["id"] for e in ev if e["ph"] == "s"}
ends = [e for e in ev if e["ph"] == "f"]
if any(e["id"] not in starts for e in ends):
    fail.append("%d flow ends without a start" % sum(e["id"] not in starts for e in ends))
end_ts = {e["ts"] for e in ends if e["pid"] == npes - 1}
fed = sum(1 for e in pings if e["ts"] in end_ts)
if fed != 1000:
    fail.append("%d of the pings have an arrow from their send" % fed)
for p in range(npes):
    xs = sorted((e["ts"], e["dur"]) for e in ev if e["ph"] == "X" and e["pid"] == p
                and e.get("cat") == "method")
    for (t0, d0), (t1, _) in zip(xs, xs[1:]):
        if t0 + d0 > t1 + 1e-3:
            fail.append("PE %d: methods overlap at %.3f" % (p, t1))
            break
labels = {e["pid"]: e["args"] for e in ev if e["ph"] == "M" and e["name"] == "process_labels"}
if 0 in labels:
    fail.append("PE 0 measured a clock offset to itself")
if hosts > 1:
    synced = sorted(labels)
    if not synced or len(synced) >= npes:
        fail.append("clock offsets measured on PEs %s" % synced)
    for p, a in labels.items():
        if not (a.get("clock_rounds", 0) == 16 and 0 <= a["clock_bound_us"] < 100000
                and abs(a["clock_offset_us"]) <= a["clock_bound_us"] + 1):
            fail.append("PE %d: clock %r" % (p, a))
    # A send and the method it ran are both off by their PE's bound at most (PE 0's and
    # those of its host by nothing).
    bound = {p: a["clock_bound_us"] for p, a in labels.items()}
    start = {e["id"]: (e["ts"], e["pid"]) for e in ev if e["ph"] == "s"}
    back = [e for e in ends if e["id"] in start and e["ts"] < start[e["id"]][0] -
            bound.get(start[e["id"]][1], 0) - bound.get(e["pid"], 0) - 1]
    if back:
        fail.append("%d arrows run back in time" % len(back))
elif labels:
    fail.append("clock offsets measured with one host: %s" % sorted(labels))
if fail:
    print("\n".join("FAIL: " + f for f in fail))
    sys.exit(1)
print("timeline of %d PEs checks out: %d events, %d arrows" % (npes, len(ev), len(ends)))
