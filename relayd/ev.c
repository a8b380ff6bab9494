/* SPDX-License-Identifier: ISC */
/* The epoll backend of ev.h (Redis ae_epoll.c, reduced to what relayd uses). */
#include <sys/epoll.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "err.h"
#include "ev.h"

#define EV_BATCH	256	/* events taken per epoll_wait */

struct ev_slot {
	int	 es_mask;	/* EV_NONE: not watched */
	ev_fn	*es_fn;
	void	*es_data;
};

struct ev_loop {
	int			 el_epfd;
	int			 el_setsize;
	struct ev_slot		*el_slots;
	void			*el_user;
	struct epoll_event	 el_events[EV_BATCH];
};

struct ev_loop *
ev_create(int setsize)
{
	struct ev_loop *el;

	if (setsize <= 0) {
		errno = EINVAL;
		return NULL;
	}
	if ((el = calloc(1, sizeof(*el))) == NULL)
		return NULL;
	/* calloc: slots for descriptors never used stay untouched zero pages. */
	if ((el->el_slots = calloc((size_t)setsize, sizeof(*el->el_slots))) == NULL) {
		free(el);
		return NULL;
	}
	el->el_setsize = setsize;
	if ((el->el_epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		free(el->el_slots);
		free(el);
		return NULL;
	}
	return el;
}

void
ev_free(struct ev_loop *el)
{
	if (el == NULL)
		return;
	close(el->el_epfd);
	free(el->el_slots);
	free(el);
}

void *
ev_owner(const struct ev_loop *el, int fd)
{
	if (fd < 0 || fd >= el->el_setsize || el->el_slots[fd].es_fn == NULL)
		return NULL;
	return el->el_slots[fd].es_data;
}

int
ev_setsize(const struct ev_loop *el)
{
	return el->el_setsize;
}

void
ev_set_user(struct ev_loop *el, void *user)
{
	el->el_user = user;
}

void *
ev_user(const struct ev_loop *el)
{
	return el->el_user;
}

static uint32_t
ev_epoll_mask(int mask)
{
	uint32_t e = 0;

	if (mask & EV_READ)
		e |= EPOLLIN;
	if (mask & EV_WRITE)
		e |= EPOLLOUT;
	return e;
}

static int
ev_ctl(struct ev_loop *el, int op, int fd, int mask)
{
	struct epoll_event ee = { 0 };

	ee.events = ev_epoll_mask(mask);
	ee.data.fd = fd;
	return epoll_ctl(el->el_epfd, op, fd, &ee) == -1 ? VEIL_E_SYSTEM : 0;
}

int
ev_add(struct ev_loop *el, int fd, int mask, ev_fn *fn, void *data)
{
	struct ev_slot *s;
	int r;

	if (fd < 0 || fd >= el->el_setsize || fn == NULL ||
	    (mask & ~(EV_READ | EV_WRITE)) != 0 || mask == EV_NONE)
		return VEIL_E_INVALID;
	s = &el->el_slots[fd];
	r = ev_ctl(el, s->es_fn != NULL ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, mask);
	/*
	 * A slot still marked taken by a descriptor closed behind the loop's
	 * back (libnats closes its own sockets, cluster.c): the new one is added.
	 */
	if (r != 0 && s->es_fn != NULL && errno == ENOENT)
		r = ev_ctl(el, EPOLL_CTL_ADD, fd, mask);
	if (r != 0)
		return r;
	s->es_mask = mask;
	s->es_fn = fn;
	s->es_data = data;
	return 0;
}

int
ev_set_mask(struct ev_loop *el, int fd, int mask)
{
	struct ev_slot *s;
	int r;

	if (fd < 0 || fd >= el->el_setsize || (mask & ~(EV_READ | EV_WRITE)) != 0)
		return VEIL_E_INVALID;
	s = &el->el_slots[fd];
	if (s->es_fn == NULL)
		return VEIL_E_INVALID;
	if (s->es_mask == mask)
		return 0;
	if ((r = ev_ctl(el, EPOLL_CTL_MOD, fd, mask)) != 0)
		return r;
	s->es_mask = mask;
	return 0;
}

void
ev_del(struct ev_loop *el, int fd)
{
	struct epoll_event ee = { 0 };
	struct ev_slot *s;

	if (fd < 0 || fd >= el->el_setsize)
		return;
	s = &el->el_slots[fd];
	if (s->es_fn == NULL)
		return;
	/* Failure means the fd is already gone from the set; nothing to undo. */
	(void)epoll_ctl(el->el_epfd, EPOLL_CTL_DEL, fd, &ee);
	s->es_mask = EV_NONE;
	s->es_fn = NULL;
	s->es_data = NULL;
}

int
ev_poll(struct ev_loop *el, int timeout_ms)
{
	struct ev_slot *s;
	uint32_t e;
	int i, n, fd, mask, handled = 0;

	n = epoll_wait(el->el_epfd, el->el_events, EV_BATCH, timeout_ms);
	if (n == -1)
		return errno == EINTR ? 0 : VEIL_E_SYSTEM;
	for (i = 0; i < n; i++) {
		fd = el->el_events[i].data.fd;
		if (fd < 0 || fd >= el->el_setsize)
			continue;
		s = &el->el_slots[fd];
		e = el->el_events[i].events;
		mask = 0;
		/* Errors and hang-ups are reported as readable: read() tells which. */
		if (e & (EPOLLIN | EPOLLERR | EPOLLHUP))
			mask |= EV_READ;
		if (e & EPOLLOUT)
			mask |= EV_WRITE;
		/* A callback earlier in this batch may have removed the fd. */
		if (s->es_fn == NULL)
			continue;
		if ((mask & s->es_mask) == 0 && (e & (EPOLLERR | EPOLLHUP)) == 0)
			continue;
		s->es_fn(el, fd, s->es_data, mask);
		handled++;
	}
	return handled;
}
