#!/usr/bin/env python3
"""Check the statistics files of an mp_stats run: one valid JSON file per PE, the ping
calls on the last PE = 1000 with 24 bytes each, sends and receives that add up across PEs,
busy (methods, main and coroutines), idle and transport progress within the wall time.
    stats_check.py PREFIX NPES"""
import json
import sys

prefix, npes = sys.argv[1], int(sys.argv[2])
pes = [json.load(open("%s.%d.json" % (prefix, p))) for p in range(npes)]
fail = []
for p, d in enumerate(pes):
    if d["pe"] != p or d["pes"] != npes:
        fail.append("PE %d: pe/pes fields %r/%r" % (p, d["pe"], d["pes"]))
    if not 0 <= d["busy_s"] <= d["wall_s"] * 1.01 + 1e-3:
        fail.append("PE %d: busy %g of wall %g" % (p, d["busy_s"], d["wall_s"]))
    # busy, idle and the transports' progress are parts of the time since start-up
    parts = d["busy_s"] + d["idle_s"] + d["progress_s"]
    if not (0 <= d["coroutines_s"] <= d["busy_s"] + 1e-6 and d["progress_s"] >= 0
            and parts <= d["wall_s"] * 1.01 + 1e-3 and d["startup_s"] > 0):
        fail.append("PE %d: times do not add up: %r" % (p, {k: v for k, v in d.items()
                                                           if k.endswith("_s")}))
pings = [e for e in pes[-1]["entry_methods"] if e["type"] == "El" and e["name"] == "ping"]
if not pings or pings[0]["calls"] != 1000 or pings[0]["bytes_in"] != 24000:
    fail.append("last PE: ping stats %r" % pings)
for p, d in enumerate(pes[:-1]):
    if any(e["name"] == "ping" for e in d["entry_methods"]):
        fail.append("PE %d ran pings" % p)
sent = sum(t["msgs"] for d in pes for t in d["transports"])
recv = sum(d["recv_msgs"] for d in pes)
if sent != recv:  # what crossed between processes, counted at both ends
    fail.append("messages sent between PEs %d, received %d" % (sent, recv))
if pes[0]["broadcasts"] < 1 or sum(d["reductions"] for d in pes) < 1:
    fail.append("broadcasts %d, reductions %d" % (pes[0]["broadcasts"],
                                                  sum(d["reductions"] for d in pes)))
if fail:
    print("\n".join("FAIL: " + f for f in fail))
    sys.exit(1)
print("stats files of %d PEs check out (%d messages between PEs)" % (npes, sent))
