/* PMIx wire-up across the emulated hosts, without Tern: every task puts its own
 * hostname (its host's UTS namespace: tn1, tn2, ...), commits, fences with data
 * collection, then gets every peer's value and PMIX_HOSTNAME and checks that they
 * agree, and that its PMIX_LOCAL_SIZE is the number of tasks on its host.
 * Rank 0 prints "pmix_probe: N ranks on H hosts: tn1=2 tn2=2 tn3=2" on stderr;
 * any task that finds a mismatch prints "pmix_probe: rank R: ..." and exits 1.
 *   usage: srun --mpi=pmix -N 3 -n 6 pmix_probe */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strdup, strncasecmp: used inline by pmix_common.h */
#endif
#include <pmix.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY "tern.mh.host"
#define MAXR 1024

static pmix_proc_t me;

static int fail(const char *what, pmix_status_t rc) {
  fprintf(stderr, "pmix_probe: rank %u: %s: %s\n", me.rank, what, PMIx_Error_string(rc));
  return 1;
}

static pmix_status_t get_u32(const pmix_proc_t *p, const char *key, uint32_t *out) {
  pmix_value_t *v = NULL;
  pmix_status_t rc = PMIx_Get(p, key, NULL, 0, &v);
  if (rc != PMIX_SUCCESS) return rc;
  if (v->type == PMIX_UINT32) *out = v->data.uint32;
  else if (v->type == PMIX_UINT16) *out = v->data.uint16;
  else rc = PMIX_ERR_TYPE_MISMATCH;
  PMIX_VALUE_RELEASE(v);
  return rc;
}

static pmix_status_t get_str(const pmix_proc_t *p, const char *key, char *out, size_t n) {
  pmix_value_t *v = NULL;
  pmix_status_t rc = PMIx_Get(p, key, NULL, 0, &v);
  if (rc != PMIX_SUCCESS) return rc;
  if (v->type == PMIX_STRING && v->data.string) snprintf(out, n, "%s", v->data.string);
  else rc = PMIX_ERR_TYPE_MISMATCH;
  PMIX_VALUE_RELEASE(v);
  return rc;
}

int main(void) {
  static char hosts[MAXR][64];
  char mine[64] = "", pmixhost[64];
  uint32_t size = 0, local = 0, same = 0, r;
  pmix_status_t rc;
  pmix_proc_t wild, peer;
  pmix_value_t val;
  int bad = 0;

  if ((rc = PMIx_Init(&me, NULL, 0)) != PMIX_SUCCESS) return fail("PMIx_Init", rc);
  gethostname(mine, sizeof mine - 1);
  PMIX_PROC_CONSTRUCT(&wild);
  PMIX_LOAD_PROCID(&wild, me.nspace, PMIX_RANK_WILDCARD);
  if ((rc = get_u32(&wild, PMIX_JOB_SIZE, &size)) != PMIX_SUCCESS) return fail("job size", rc);
  if (size > MAXR) return fail("job too large", PMIX_ERR_BAD_PARAM);
  if ((rc = get_u32(&wild, PMIX_LOCAL_SIZE, &local)) != PMIX_SUCCESS) return fail("local size", rc);

  val.type = PMIX_STRING;
  val.data.string = mine;
  if ((rc = PMIx_Put(PMIX_GLOBAL, KEY, &val)) != PMIX_SUCCESS) return fail("PMIx_Put", rc);
  if ((rc = PMIx_Commit()) != PMIX_SUCCESS) return fail("PMIx_Commit", rc);
  pmix_info_t collect;
  bool yes = true;
  PMIX_INFO_LOAD(&collect, PMIX_COLLECT_DATA, &yes, PMIX_BOOL);
  if ((rc = PMIx_Fence(&wild, 1, &collect, 1)) != PMIX_SUCCESS) return fail("PMIx_Fence", rc);

  for (r = 0; r < size; r++) {
    PMIX_LOAD_PROCID(&peer, me.nspace, r);
    if ((rc = get_str(&peer, KEY, hosts[r], sizeof hosts[r])) != PMIX_SUCCESS) {
      fprintf(stderr, "pmix_probe: rank %u: get %s of rank %u: %s\n", me.rank, KEY, r,
              PMIx_Error_string(rc));
      bad = 1;
      continue;
    }
    if (get_str(&peer, PMIX_HOSTNAME, pmixhost, sizeof pmixhost) == PMIX_SUCCESS &&
        strcmp(pmixhost, hosts[r]) != 0) {
      fprintf(stderr, "pmix_probe: rank %u: rank %u says host %s, PMIX_HOSTNAME says %s\n",
              me.rank, r, hosts[r], pmixhost);
      bad = 1;
    }
    if (strcmp(hosts[r], mine) == 0) same++;
  }
  if (!bad && same != local) {
    fprintf(stderr, "pmix_probe: rank %u on %s: PMIX_LOCAL_SIZE %u but %u ranks on %s\n",
            me.rank, mine, local, same, mine);
    bad = 1;
  }
  if (!bad && me.rank == 0) {
    char line[4096];
    size_t len = 0;
    uint32_t nh = 0;
    for (r = 0; r < size; r++) {
      uint32_t q, n = 0;
      for (q = 0; q < r && strcmp(hosts[q], hosts[r]) != 0; q++) {}
      if (q < r) continue;  /* host already counted */
      for (q = r; q < size; q++) n += strcmp(hosts[q], hosts[r]) == 0;
      nh++;
      if (len < sizeof line)
        len += (size_t)snprintf(line + len, sizeof line - len, " %s=%u", hosts[r], n);
    }
    fprintf(stderr, "pmix_probe: %u ranks on %u hosts:%s\n", size, nh, line);
  }
  PMIx_Fence(&wild, 1, NULL, 0);
  PMIx_Finalize(NULL, 0);
  return bad;
}
