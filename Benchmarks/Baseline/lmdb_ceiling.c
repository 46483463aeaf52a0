/* The physical ceiling for CommHub's journal on this machine: raw LMDB
 * group commits of BATCH puts of SIZE bytes with MDB_APPEND, one durable
 * commit (default sync) per batch, from one writer thread — what the
 * journal writer does, minus encoding, checksums and the engine.
 * Usage: lmdb_ceiling DIR SECONDS BATCH SIZE   → prints puts/s */
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
#define CHECK(x) do { int rc = (x); if (rc) { fprintf(stderr, "%s: %s\n", #x, mdb_strerror(rc)); exit(1); } } while (0)

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: %s DIR SECONDS BATCH SIZE\n", argv[0]); return 2; }
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
        CHECK(mdb_txn_begin(env, NULL, 0, &txn));
        for (int i = 0; i < batch; i++) {
            uint64_t k = __builtin_bswap64(++seq);
            MDB_val key = { 8, &k }, val = { (size_t)size, value };
            CHECK(mdb_put(txn, dbi, &key, &val, MDB_APPEND));
        }
        CHECK(mdb_txn_commit(txn));
        puts += batch;
    }
    printf("%.0f\n", puts / (now() - start));
    mdb_env_close(env);
    return 0;
}
