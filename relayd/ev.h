/* SPDX-License-Identifier: ISC */
#ifndef VEIL_EV_H
#define VEIL_EV_H

#include "buf.h"

/*
 * A tiny epoll event loop, after Redis ae.h: one table slot per file
 * descriptor, a callback and its data per slot. Descriptors outside
 * 0..setsize-1 are rejected, never trusted. Level-triggered.
 */

#define EV_NONE		0
#define EV_READ		1
#define EV_WRITE	2

struct ev_loop;

/* Called with the events that fired (EV_READ and/or EV_WRITE). */
typedef void ev_fn(struct ev_loop *el, int fd, void *data, int mask);

/*
 * Creates a loop for descriptors 0..setsize-1 (epoll_create1 with
 * EPOLL_CLOEXEC). Returns NULL on failure (errno set). Free with ev_free.
 */
struct ev_loop *ev_create(int setsize);
/* Closes the epoll descriptor and frees the loop. NULL is fine. */
void	ev_free(struct ev_loop *el);

/*
 * Watches fd for mask with fn(data), replacing what watched it before (also
 * a descriptor closed without ev_del: its slot goes to the new one).
 * Returns 0, VEIL_E_INVALID for a descriptor out of range or an empty mask,
 * VEIL_E_SYSTEM if epoll_ctl fails.
 */
int	ev_add(struct ev_loop *el, int fd, int mask, ev_fn *fn, void *data) VEIL_WUR;
/* Changes the mask of a watched fd (EV_NONE keeps it registered, silent). */
int	ev_set_mask(struct ev_loop *el, int fd, int mask) VEIL_WUR;
/* Stops watching fd (before it is closed). Unknown fds are ignored. */
void	ev_del(struct ev_loop *el, int fd);

/*
 * Waits up to timeout_ms (-1: forever) and calls the callbacks of the
 * descriptors that are ready. A callback may ev_del any descriptor: the
 * rest of the batch skips it. Returns the number of events handled, 0 on
 * timeout or EINTR, VEIL_E_SYSTEM if epoll_wait fails.
 */
int	ev_poll(struct ev_loop *el, int timeout_ms) VEIL_WUR;

/* A pointer for the callbacks to find their owner (NULL until set). */
void	ev_set_user(struct ev_loop *el, void *user);
void	*ev_user(const struct ev_loop *el);

/* The data fd was added with, or NULL if it is not watched. */
void	*ev_owner(const struct ev_loop *el, int fd);

/* The setsize given to ev_create. */
int	ev_setsize(const struct ev_loop *el);

#endif
