/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Allocation in the control path. One place counts every allocation, so a
 * test can make the Nth one fail and check that the change it belonged to
 * left everything as it was (tests/integration/test_apply.c). Outside
 * tests the countdown is off and these are plain malloc()/rte_malloc().
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <rte_errno.h>
#include <rte_malloc.h>

#include "ctl_priv.h"

/* Allocations left before the one that fails; -1: none fails. The
 * control thread is the only caller, but a test may arm it from another. */
static _Atomic int64_t countdown = -1;
static _Atomic uint64_t counted;
static _Atomic bool failed;

void
lp_ctl_fail_alloc(int64_t n)
{
	if (n >= 0) {
		atomic_store(&counted, 0);
		atomic_store(&failed, false);
	}
	atomic_store(&countdown, n < 0 ? -1 : n);
}

uint64_t
lp_ctl_alloc_count(void)
{
	return atomic_load(&counted);
}

bool
lp_ctl_alloc_failed(void)
{
	return atomic_load(&failed);
}

bool
ctl_alloc_fails(void)
{
	int64_t left;

	atomic_fetch_add(&counted, 1);
	left = atomic_load(&countdown);
	if (left < 0)
		return false;
	atomic_store(&countdown, left - 1);
	if (left > 0)
		return false;
	/* One failure per arming: what runs after it (the clean-up) allocates normally. */
	atomic_store(&countdown, -1);
	atomic_store(&failed, true);
	errno = ENOMEM;
	rte_errno = ENOMEM;
	return true;
}

void *
ctl_malloc(size_t size)
{
	return CTL_ALLOC(malloc(size ? size : 1));
}

void *
ctl_calloc(size_t n, size_t size)
{
	return CTL_ALLOC(calloc(n ? n : 1, size ? size : 1));
}

void *
ctl_realloc(void *p, size_t size)
{
	return CTL_ALLOC(realloc(p, size ? size : 1));
}

void *
ctl_zmalloc(const char *type, size_t size, int socket)
{
	return CTL_ALLOC(rte_zmalloc_socket(type, size, RTE_CACHE_LINE_SIZE, socket));
}
