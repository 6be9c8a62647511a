/*
 * Spanning trees of PEs for broadcasts. For now a k-ary tree over all PEs, numbered
 * relative to the root; host-aware trees replace it once topology is known.
 */
#ifndef TERN_TOPOLOGY_TREE_H
#define TERN_TOPOLOGY_TREE_H

/* Parent of `pe` in the k-ary tree of npes PEs rooted at `root`; -1 for the root. */
int topo_kary_parent(int root, int npes, int k, int pe);
/* Children of `pe`, written to out (room for k); returns how many. */
int topo_kary_children(int root, int npes, int k, int pe, int *out);

#endif
