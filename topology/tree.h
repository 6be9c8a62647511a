/*
 * Spanning trees of PEs for broadcasts, reductions and quiescence waves.
 *
 * A tree over a set of PEs (topology/hosts.h) with a root and a branching factor k is
 * host-aware: it first spans the hosts, through one PE per host (the root on its own host,
 * the host's lowest member elsewhere), as a k-ary tree over the hosts taken in order from
 * the root's; then, inside each host, a k-ary tree over the host's members rooted at that
 * PE, the others taken in PE order from it. Exactly one edge enters each host other than
 * the root's. A host's entry PE has up to k children on other hosts (sent to first: they
 * are the farthest) and up to k on its own; any other PE up to k.
 *
 * Every PE computes its own parent and children in O(k + log n) from the set alone: the
 * tree is never stored, so any root costs the same.
 */
#ifndef TERN_TOPOLOGY_TREE_H
#define TERN_TOPOLOGY_TREE_H

#include "topology/hosts.h"

/* Parent of `pe` in the k-ary tree of npes PEs rooted at `root`; -1 for the root. */
int topo_kary_parent(int root, int npes, int k, int pe);
/* Children of `pe`, written to out (room for k); returns how many. */
int topo_kary_children(int root, int npes, int k, int pe, int *out);

/* Most children a PE can have in a host-aware tree of branching factor k. */
#define TOPO_TREE_MAX_KIDS(k) (2 * (k))

/* Parent of member `pe` in the host-aware tree of `set` rooted at member `root`; -1 for
 * the root; -2 when pe or root is not a member (or k < 1). */
int topo_tree_parent(const topo_set_t *set, int root, int k, int pe);
/* Children of member `pe`, written to out (room for TOPO_TREE_MAX_KIDS(k)); returns how
 * many, or -2 as above. */
int topo_tree_children(const topo_set_t *set, int root, int k, int pe, int *out);

#endif
