/* The whole C core: kernel ABI, raw syscalls, ring, prep helpers, registration. */
#ifndef IORING_IORING_H
#define IORING_IORING_H

#include "ioring/abi.h"
#include "ioring/syscall.h"
#include "ioring/barrier.h"
#include "ioring/ring.h"
#include "ioring/prep.h"
#include "ioring/prep_fs.h"
#include "ioring/prep_net.h"
#include "ioring/register.h"
#include "ioring/register_buffers.h"
#include "ioring/register_files.h"
#include "ioring/register_ring.h"
#include "ioring/register_regions.h"
#include "ioring/wait_reg.h"
#include "ioring/buf_ring.h"
#include "ioring/sqe_refs.h"

#endif /* IORING_IORING_H */
