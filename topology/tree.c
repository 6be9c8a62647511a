#include "topology/tree.h"

int topo_kary_parent(int root, int npes, int k, int pe)
{
    long r = ((long)pe - root + npes) % npes;
    if (r == 0)
        return -1;
    return (int)(((r - 1) / k + root) % npes);
}

int topo_kary_children(int root, int npes, int k, int pe, int *out)
{
    long r = ((long)pe - root + npes) % npes;
    int n = 0;
    for (int c = 1; c <= k; c++) {
        long child = r * k + c;
        if (child >= npes)
            break;
        out[n++] = (int)((child + root) % npes);
    }
    return n;
}
