/* A multiset of user_data values: how many submitted requests with each user_data have not had
 * their completion consumed yet, and a reference for what they pinned. The Python thin layer
 * tracks its requests here (the reference is an index into a Python list of pinned objects,
 * 0 for none), so that tracking a request costs no Python object; the last completion of a
 * value releases what every request with that value pinned, since a completion cannot tell
 * which of them it belongs to.
 *
 * Open addressing, linear probing, deletion by backward shift (no tombstones), at most half
 * full: add and take are a multiply, a shift and one or two cache lines. Keys below
 * IORING_UDCOUNT_DIRECT (the indices C programs and per-op loops use as user_data) have a slot
 * each in a second array instead, found without hashing or probing. */
#ifndef IORING_UDCOUNT_H
#define IORING_UDCOUNT_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ioring_udcount_slot {
    uint64_t key;
    uint32_t count;         /* 0: the slot is empty */
    uint32_t ref;           /* the caller's reference for what the requests pinned, 0: none */
};

struct ioring_udcount {
    struct ioring_udcount_slot *slots;
    uint32_t mask;          /* capacity - 1 (capacity a power of two), 0 before the first add */
    uint32_t shift;         /* 64 - log2(capacity) */
    uint32_t used;          /* distinct keys present (in either array) */
    uint64_t total;         /* sum of the counts */
    struct ioring_udcount_slot *direct;   /* IORING_UDCOUNT_DIRECT slots, by key; NULL before the
                                             first add of a small key */
    uint32_t direct_used;   /* of used, the keys in ``direct`` */
};

#define IORING_UDCOUNT_MIN 64u
#define IORING_UDCOUNT_DIRECT 256u

static inline int ioring_udcount_is_direct(const struct ioring_udcount *t,
                                           const struct ioring_udcount_slot *s)
{
    return t->direct && s >= t->direct && s < t->direct + IORING_UDCOUNT_DIRECT;
}

static inline uint32_t ioring_udcount_home(const struct ioring_udcount *t, uint64_t key)
{
    return (uint32_t)((key * 0x9E3779B97F4A7C15ULL) >> t->shift);   /* Fibonacci hashing */
}

static inline int ioring_udcount_resize(struct ioring_udcount *t, uint32_t capacity)
{
    struct ioring_udcount_slot *old = t->slots, *slots;
    uint32_t old_cap = t->slots ? t->mask + 1 : 0, bits = 0, i;

    while ((1u << bits) < capacity)
        bits++;
    slots = (struct ioring_udcount_slot *)calloc((size_t)1 << bits, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    t->slots = slots;
    t->mask = (1u << bits) - 1;
    t->shift = 64 - bits;
    for (i = 0; i < old_cap; i++) {
        if (old[i].count) {
            uint32_t j = ioring_udcount_home(t, old[i].key);
            while (slots[j].count)
                j = (j + 1) & t->mask;
            slots[j] = old[i];
        }
    }
    free(old);
    return 0;
}

/* One more request with user_data ``key``: its slot (``ref`` 0 for a new key), valid until
 * the next add; NULL when out of memory (nothing changed). */
static inline struct ioring_udcount_slot *ioring_udcount_add(struct ioring_udcount *t,
                                                             uint64_t key)
{
    uint32_t i;
    if (key < IORING_UDCOUNT_DIRECT) {
        struct ioring_udcount_slot *s;
        if (!t->direct) {
            t->direct = (struct ioring_udcount_slot *)calloc(IORING_UDCOUNT_DIRECT, sizeof(*s));
            if (!t->direct)
                return NULL;
        }
        s = &t->direct[key];
        if (s->count == UINT32_MAX)
            return NULL;
        if (!s->count) {
            s->key = key;
            s->ref = 0;
            t->used++;
            t->direct_used++;
        }
        s->count++;
        t->total++;
        return s;
    }
    if (!t->slots || 2 * (t->used - t->direct_used + 1) > t->mask + 1) {
        uint32_t cap = t->slots ? 2 * (t->mask + 1) : IORING_UDCOUNT_MIN;
        if (cap == 0 || ioring_udcount_resize(t, cap) < 0)
            return NULL;
    }
    i = ioring_udcount_home(t, key);
    while (t->slots[i].count) {
        if (t->slots[i].key == key) {
            if (t->slots[i].count == UINT32_MAX)
                return NULL;
            t->slots[i].count++;
            t->total++;
            return &t->slots[i];
        }
        i = (i + 1) & t->mask;
    }
    t->slots[i].key = key;
    t->slots[i].count = 1;
    t->slots[i].ref = 0;
    t->used++;
    t->total++;
    return &t->slots[i];
}

/* The slot of ``key``, or NULL when no request with that user_data is counted. */
static inline struct ioring_udcount_slot *ioring_udcount_find(const struct ioring_udcount *t,
                                                              uint64_t key)
{
    uint32_t i;
    if (key < IORING_UDCOUNT_DIRECT)
        return t->direct && t->direct[key].count ? &t->direct[key] : NULL;
    if (t->used == t->direct_used)
        return NULL;
    for (i = ioring_udcount_home(t, key); t->slots[i].count; i = (i + 1) & t->mask)
        if (t->slots[i].key == key)
            return &t->slots[i];
    return NULL;
}

/* Requests counted with user_data ``key`` (0: none). */
static inline uint32_t ioring_udcount_get(const struct ioring_udcount *t, uint64_t key)
{
    const struct ioring_udcount_slot *s = ioring_udcount_find(t, key);
    return s ? s->count : 0;
}

/* Empty the slot ``s`` of ``t``: every later entry of its run that may sit there moves up
 * (backward shift). */
static inline void ioring_udcount_delete(struct ioring_udcount *t, struct ioring_udcount_slot *s)
{
    uint32_t i, j, home;
    t->used--;
    t->total -= s->count;
    if (ioring_udcount_is_direct(t, s)) {
        t->direct_used--;
        s->count = 0;
        s->ref = 0;
        return;
    }
    i = j = (uint32_t)(s - t->slots);
    for (;;) {
        j = (j + 1) & t->mask;
        if (!t->slots[j].count)
            break;
        home = ioring_udcount_home(t, t->slots[j].key);
        /* The entry at j stays unless its home lies cyclically outside (i, j]. */
        if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i].count = 0;
    t->slots[i].ref = 0;
}

/* One request with user_data ``key`` completed: 1 if one was counted, else 0. When it was the
 * last one the entry goes and *ref gets its reference (for the caller to release), else 0. */
static inline int ioring_udcount_take(struct ioring_udcount *t, uint64_t key, uint32_t *ref)
{
    struct ioring_udcount_slot *s = ioring_udcount_find(t, key);
    *ref = 0;
    if (!s)
        return 0;
    if (s->count > 1) {
        s->count--;
        t->total--;
        return 1;
    }
    *ref = s->ref;
    ioring_udcount_delete(t, s);
    return 1;
}

/* Remove ``key`` whatever its count: 1 and its count and reference if it was there, else 0. */
static inline int ioring_udcount_remove(struct ioring_udcount *t, uint64_t key, uint32_t *count,
                                        uint32_t *ref)
{
    struct ioring_udcount_slot *s = ioring_udcount_find(t, key);
    *count = 0;
    *ref = 0;
    if (!s)
        return 0;
    *count = s->count;
    *ref = s->ref;
    ioring_udcount_delete(t, s);
    return 1;
}

/* Forget every count (the memory stays for reuse). */
static inline void ioring_udcount_clear(struct ioring_udcount *t)
{
    if (t->slots && t->used > t->direct_used)
        memset(t->slots, 0, ((size_t)t->mask + 1) * sizeof(*t->slots));
    if (t->direct && t->direct_used)
        memset(t->direct, 0, IORING_UDCOUNT_DIRECT * sizeof(*t->direct));
    t->used = 0;
    t->direct_used = 0;
    t->total = 0;
}

/* Slot ``i`` of 0..ioring_udcount_span(t)-1 (both arrays), for visiting every key: count 0 is
 * an empty slot. */
static inline uint32_t ioring_udcount_span(const struct ioring_udcount *t)
{
    return IORING_UDCOUNT_DIRECT + (t->slots ? t->mask + 1 : 0);
}

static inline const struct ioring_udcount_slot *ioring_udcount_slot_at(const struct ioring_udcount *t,
                                                                       uint32_t i)
{
    static const struct ioring_udcount_slot empty = {0, 0, 0};
    if (i < IORING_UDCOUNT_DIRECT)
        return t->direct ? &t->direct[i] : &empty;
    return &t->slots[i - IORING_UDCOUNT_DIRECT];
}

static inline void ioring_udcount_free(struct ioring_udcount *t)
{
    free(t->slots);
    free(t->direct);
    memset(t, 0, sizeof(*t));
}

#endif /* IORING_UDCOUNT_H */
