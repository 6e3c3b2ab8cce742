/* Memory ordering for the words shared with the kernel (see io_uring-anchors §3.4):
 * acquire on every index the kernel writes, release on every index we publish,
 * and a full fence before reading SQ flags after publishing the SQ tail. */
#ifndef IORING_BARRIER_H
#define IORING_BARRIER_H

#define ioring_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ioring_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ioring_read_once(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define ioring_write_once(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define ioring_smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)

#endif /* IORING_BARRIER_H */
