/* ioring_udcount (include/ioring/udcount.h), the count of in-flight requests per user_data (and
 * a reference for what they pinned) that the Python thin layer keeps: random adds, takes and
 * removals checked against a plain array model, across growth and backward-shift deletions.
 * No kernel needed. Exit status: 0 pass, 1 failure. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ioring/udcount.h"

#include "harness.h"

#define NKEYS 3000

static uint64_t rng_state = 0x10A1;

static uint64_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Keys that collide a lot under the hash: small ints, multiples of the capacity, huge values. */
static uint64_t key_of(unsigned i)
{
    switch (i % 4) {
    case 0: return i;
    case 1: return (uint64_t)i << 20;
    case 2: return UINT64_MAX - i;
    default: return (uint64_t)i * 0x9E3779B97F4A7C15ULL;
    }
}

static int check_model(const struct ioring_udcount *t, const uint32_t *model, const uint32_t *refs)
{
    uint32_t used = 0;
    uint64_t total = 0;
    for (unsigned i = 0; i < NKEYS; i++) {
        const struct ioring_udcount_slot *s = ioring_udcount_find(t, key_of(i));
        CHECK_EQ(ioring_udcount_get(t, key_of(i)), model[i]);
        CHECK_EQ(s != NULL, model[i] != 0);
        if (s)
            CHECK_EQ(s->ref, refs[i]);
        used += model[i] != 0;
        total += model[i];
    }
    CHECK_EQ(t->used, used);
    CHECK_EQ(t->total, total);
    return T_PASS;
}

static int test_random_adds_and_takes_match_a_model(void)
{
    static uint32_t model[NKEYS], refs[NKEYS];
    struct ioring_udcount t;
    struct ioring_udcount_slot *s;
    uint32_t ref, count;
    memset(&t, 0, sizeof(t));
    memset(model, 0, sizeof(model));
    memset(refs, 0, sizeof(refs));
    for (int round = 0; round < 200000; round++) {
        uint64_t r = next_random();
        /* Keys drawn from a window that slides, so the table grows, fills and empties. */
        unsigned span = 1 + (unsigned)(round / 100) % NKEYS;
        unsigned i = (unsigned)(r >> 8) % span;
        if ((r & 7) < 4) {
            s = ioring_udcount_add(&t, key_of(i));
            CHECK(s != NULL);
            CHECK_EQ(s->key, key_of(i));
            CHECK_EQ(s->ref, refs[i]);          /* 0 for a new entry */
            if (!s->ref && (r & 0x10000)) {
                s->ref = 1 + (uint32_t)(r >> 40);
                refs[i] = s->ref;
            }
            model[i]++;
        } else if ((r & 7) < 7) {
            CHECK_EQ(ioring_udcount_take(&t, key_of(i), &ref), model[i] != 0);
            if (model[i] == 1) {
                CHECK_EQ(ref, refs[i]);         /* the last one hands the reference back */
                refs[i] = 0;
            } else {
                CHECK_EQ(ref, 0);
            }
            if (model[i])
                model[i]--;
        } else {
            CHECK_EQ(ioring_udcount_remove(&t, key_of(i), &count, &ref), model[i] != 0);
            CHECK_EQ(count, model[i]);
            CHECK_EQ(ref, refs[i]);
            model[i] = refs[i] = 0;
        }
        if (round % 5000 == 0 && check_model(&t, model, refs) != T_PASS)
            return T_FAIL;
    }
    if (check_model(&t, model, refs) != T_PASS)
        return T_FAIL;
    for (unsigned i = 0; i < NKEYS; i++)
        while (model[i]) {
            CHECK_EQ(ioring_udcount_take(&t, key_of(i), &ref), 1);
            model[i]--;
        }
    CHECK_EQ(t.used, 0);
    CHECK_EQ(t.total, 0);
    for (unsigned i = 0; i < NKEYS; i++)
        CHECK_EQ(ioring_udcount_take(&t, key_of(i), &ref), 0);
    ioring_udcount_free(&t);
    return T_PASS;
}

static int test_empty_table_and_clear(void)
{
    struct ioring_udcount t;
    uint32_t ref;
    memset(&t, 0, sizeof(t));
    CHECK_EQ(ioring_udcount_take(&t, 5, &ref), 0);    /* nothing allocated yet */
    CHECK_EQ(ioring_udcount_get(&t, 5), 0);
    CHECK(ioring_udcount_find(&t, 5) == NULL);
    for (int i = 0; i < 1000; i++)
        CHECK(ioring_udcount_add(&t, 42) != NULL);   /* one key, many requests */
    CHECK_EQ(t.used, 1);
    CHECK_EQ(ioring_udcount_get(&t, 42), 1000);
    for (uint64_t k = 0; k < 500; k++)
        CHECK(ioring_udcount_add(&t, k << 32) != NULL);
    ioring_udcount_clear(&t);
    CHECK_EQ(t.used, 0);
    CHECK_EQ(t.total, 0);
    CHECK_EQ(ioring_udcount_get(&t, 42), 0);
    CHECK_EQ(ioring_udcount_take(&t, 42, &ref), 0);
    CHECK(ioring_udcount_add(&t, 42) != NULL);        /* usable after a clear */
    CHECK_EQ(ioring_udcount_take(&t, 42, &ref), 1);
    ioring_udcount_free(&t);
    CHECK(t.slots == NULL);
    return T_PASS;
}

/* Keys below IORING_UDCOUNT_DIRECT live in the direct array, the others in the hashed one: the
 * counts, the references, the totals and a visit of every slot agree across both. */
static int test_direct_and_hashed_keys_agree(void)
{
    static const uint64_t keys[] = {0, 1, 255, 256, 257, 1u << 20, UINT64_MAX};
    const size_t n = sizeof(keys) / sizeof(keys[0]);
    struct ioring_udcount t;
    struct ioring_udcount_slot *s;
    uint32_t ref, count, seen = 0;
    memset(&t, 0, sizeof(t));
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++) {           /* key i is added i + 1 times */
            s = ioring_udcount_add(&t, keys[i]);
            CHECK(s != NULL);
            if (j == 0)
                s->ref = 100 + (uint32_t)i;
        }
    CHECK(t.direct != NULL);
    CHECK_EQ(t.used, n);
    CHECK_EQ(t.direct_used, 3);                     /* 0, 1, 255 */
    CHECK_EQ(t.total, n * (n + 1) / 2);
    for (uint32_t i = 0; i < ioring_udcount_span(&t); i++) {
        const struct ioring_udcount_slot *slot = ioring_udcount_slot_at(&t, i);
        if (!slot->count)
            continue;
        for (size_t k = 0; k < n; k++)
            if (keys[k] == slot->key) {
                CHECK_EQ(slot->count, k + 1);
                CHECK_EQ(slot->ref, 100 + k);
                seen++;
            }
    }
    CHECK_EQ(seen, n);
    CHECK_EQ(ioring_udcount_take(&t, 1, &ref), 1);  /* 1 of 2 */
    CHECK_EQ(ref, 0);
    CHECK_EQ(ioring_udcount_take(&t, 1, &ref), 1);  /* the last: the reference comes back */
    CHECK_EQ(ref, 101);
    CHECK_EQ(ioring_udcount_take(&t, 1, &ref), 0);
    CHECK(ioring_udcount_find(&t, 1) == NULL);
    CHECK_EQ(t.direct_used, 2);
    CHECK_EQ(ioring_udcount_remove(&t, 255, &count, &ref), 1);
    CHECK_EQ(count, 3);
    CHECK_EQ(ref, 102);
    CHECK_EQ(ioring_udcount_remove(&t, 256, &count, &ref), 1);
    CHECK_EQ(count, 4);
    CHECK_EQ(ioring_udcount_get(&t, 0), 1);
    CHECK_EQ(ioring_udcount_get(&t, 257), 5);
    ioring_udcount_clear(&t);
    CHECK_EQ(t.used, 0);
    CHECK_EQ(t.direct_used, 0);
    CHECK_EQ(ioring_udcount_get(&t, 0), 0);
    CHECK_EQ(ioring_udcount_get(&t, UINT64_MAX), 0);
    for (uint32_t i = 0; i < ioring_udcount_span(&t); i++)
        CHECK_EQ(ioring_udcount_slot_at(&t, i)->count, 0);
    ioring_udcount_free(&t);
    CHECK(t.direct == NULL);
    return T_PASS;
}

int main(void)
{
    (void)require_io_uring;             /* pure data structure: no kernel needed */
    static const struct t_case cases[] = {
        {"random adds and takes match a model", test_random_adds_and_takes_match_a_model},
        {"empty table and clear", test_empty_table_and_clear},
        {"direct and hashed keys agree", test_direct_and_hashed_keys_agree},
    };
    return run_tests("test_udcount", cases, sizeof(cases) / sizeof(cases[0]));
}
