/* The physical ceiling for CommHub's journal on this machine: raw LMDB
 * group commits of BATCH puts of SIZE bytes with MDB_APPEND, one durable
 * commit (default sync) per batch, from one writer thread — what the
 * journal writer does, minus encoding, checksums and the engine.
 * Usage: lmdb_ceiling DIR SECONDS BATCH SIZE [latency]
 *   → prints puts/s; with "latency" also the p50, p99 and max microseconds of
 *     one commit (the disk's own fsync latency, the floor of any durable ack). */
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
#define CHECK(x) do { int rc = (x); if (rc) { fprintf(stderr, "%s: %s\n", #x, mdb_strerror(rc)); exit(1); } } while (0)

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6) { fprintf(stderr, "usage: %s DIR SECONDS BATCH SIZE [latency]\n", argv[0]); return 2; }
    int latency = argc == 6;
    size_t cap = 1 << 20, n = 0;
    double *commits = malloc(cap * sizeof(double));
    double seconds = atof(argv[2]);
    int batch = atoi(argv[3]), size = atoi(argv[4]);
    MDB_env *env; MDB_dbi dbi; MDB_txn *txn;
    CHECK(mdb_env_create(&env));
    CHECK(mdb_env_set_mapsize(env, (size_t)64 << 30));
    CHECK(mdb_env_set_maxdbs(env, 4));
    CHECK(mdb_env_open(env, argv[1], MDB_NOTLS, 0644));
    CHECK(mdb_txn_begin(env, NULL, 0, &txn));
    CHECK(mdb_dbi_open(txn, "journal", MDB_CREATE, &dbi));
    CHECK(mdb_txn_commit(txn));
    char *value = malloc(size); memset(value, 'x', size);
    uint64_t seq = 0, puts = 0;
    double start = now(), end = start + seconds;
    while (now() < end) {
        double t0 = now();
        CHECK(mdb_txn_begin(env, NULL, 0, &txn));
        for (int i = 0; i < batch; i++) {
            uint64_t k = __builtin_bswap64(++seq);
            MDB_val key = { 8, &k }, val = { (size_t)size, value };
            CHECK(mdb_put(txn, dbi, &key, &val, MDB_APPEND));
        }
        CHECK(mdb_txn_commit(txn));
        if (n < cap) commits[n++] = now() - t0;
        puts += batch;
    }
    double rate = puts / (now() - start);
    if (!latency) { printf("%.0f\n", rate); } else {
        qsort(commits, n, sizeof(double), cmp);
        printf("%.0f %.0f %.0f %.0f\n", rate, commits[n / 2] * 1e6, commits[(size_t)(n * 0.99)] * 1e6, commits[n - 1] * 1e6);
    }
    mdb_env_close(env);
    return 0;
}
