/* SPDX-License-Identifier: ISC */
/*
 * The identity key on disk: HOME/identity holds exactly the 32-byte Ed25519
 * seed (RFC 8032 private key), raw binary, mode 0600. Nothing else is in the
 * file; the public key and fingerprint are derived from it.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "err.h"
#include "keyd.h"

int
keyd_file_private(int fd, const char *path)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		fprintf(stderr, "keyd: %s: %s\n", path, strerror(errno));
		return VEIL_E_SYSTEM;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "keyd: %s is not a regular file\n", path);
		return VEIL_E_SYSTEM;
	}
	if (st.st_uid != geteuid()) {
		fprintf(stderr, "keyd: %s is owned by uid %u, not by you (uid %u)\n",
		    path, (unsigned)st.st_uid, (unsigned)geteuid());
		return VEIL_E_SYSTEM;
	}
	if ((st.st_mode & 077) != 0) {
		fprintf(stderr, "keyd: permissions %04o for '%s' are too open; chmod 600 it\n",
		    (unsigned)(st.st_mode & 07777), path);
		return VEIL_E_SYSTEM;
	}
	return 0;
}

int
keyd_private_dir(const char *path, const char *what)
{
	char buf[PATH_MAX];
	struct stat st;
	size_t len = strlen(path), i;

	if (len == 0 || len >= sizeof(buf)) {
		fprintf(stderr, "keyd: %s path is empty or too long\n", what);
		return VEIL_E_SYSTEM;
	}
	memcpy(buf, path, len + 1);
	/* Create missing components, each 0700; existing ones are left alone. */
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) == -1 && errno != EEXIST) {
			fprintf(stderr, "keyd: cannot create %s %s: %s\n", what, buf,
			    strerror(errno));
			return VEIL_E_SYSTEM;
		}
		buf[i] = i == len ? '\0' : '/';
	}
	if (lstat(path, &st) == -1) {
		fprintf(stderr, "keyd: %s %s: %s\n", what, path, strerror(errno));
		return VEIL_E_SYSTEM;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "keyd: %s %s is not a directory\n", what, path);
		return VEIL_E_SYSTEM;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		fprintf(stderr, "keyd: %s %s must be owned by uid %u with mode 0700 "
		    "(it is owned by uid %u, mode %04o); fix it or choose another path\n",
		    what, path, (unsigned)geteuid(), (unsigned)st.st_uid,
		    (unsigned)(st.st_mode & 07777));
		return VEIL_E_SYSTEM;
	}
	return 0;
}

static int
identity_read(int fd, const char *path, uint8_t seed[static ED25519_SEED_LEN])
{
	uint8_t extra;
	size_t got = 0;
	ssize_t r;

	while (got < ED25519_SEED_LEN) {
		r = read(fd, seed + got, ED25519_SEED_LEN - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got != ED25519_SEED_LEN || read(fd, &extra, 1) != 0) {
		vc_wipe(seed, ED25519_SEED_LEN);
		fprintf(stderr, "keyd: %s is not an identity file (%d bytes expected)\n",
		    path, ED25519_SEED_LEN);
		return VEIL_E_INVALID;
	}
	return 0;
}

static int
identity_create(const char *path, const char *home, uint8_t seed[static ED25519_SEED_LEN],
    uint8_t pub[static ED25519_PUB_LEN])
{
	size_t off = 0;
	ssize_t w;
	int fd, dfd, r;

	if ((r = vc_ed25519_generate(seed, pub)) != 0) {
		fprintf(stderr, "keyd: cannot generate an identity key: %s\n",
		    veil_strerror(r));
		return r;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		fprintf(stderr, "keyd: cannot create %s: %s\n", path, strerror(errno));
		r = VEIL_E_SYSTEM;
		goto fail;
	}
	while (off < ED25519_SEED_LEN) {
		w = write(fd, seed + off, ED25519_SEED_LEN - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off != ED25519_SEED_LEN || fsync(fd) == -1) {
		fprintf(stderr, "keyd: cannot write %s: %s\n", path, strerror(errno));
		(void)close(fd);
		(void)unlink(path);
		r = VEIL_E_SYSTEM;
		goto fail;
	}
	if (close(fd) == -1) {
		fprintf(stderr, "keyd: cannot write %s: %s\n", path, strerror(errno));
		(void)unlink(path);
		r = VEIL_E_SYSTEM;
		goto fail;
	}
	/* The new directory entry must survive a crash too. */
	if ((dfd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		(void)close(dfd);
	}
	return 0;
fail:
	vc_wipe(seed, ED25519_SEED_LEN);
	vc_wipe(pub, ED25519_PUB_LEN);
	return r;
}

int
keyd_identity_load(const char *home, struct vs_identity *id, int *created)
{
	char path[PATH_MAX];
	int fd, r;

	*created = 0;
	memset(id, 0, sizeof(*id));
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", home, KEYD_IDENTITY_FILE) >=
	    sizeof(path)) {
		fprintf(stderr, "keyd: home path too long\n");
		return VEIL_E_SYSTEM;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		if ((r = identity_create(path, home, id->id_seed, id->id_pub)) != 0)
			return r;
		*created = 1;
		return 0;
	}
	if (fd == -1) {
		fprintf(stderr, "keyd: cannot open %s: %s\n", path, strerror(errno));
		return VEIL_E_SYSTEM;
	}
	if ((r = keyd_file_private(fd, path)) != 0 ||
	    (r = identity_read(fd, path, id->id_seed)) != 0) {
		(void)close(fd);
		return r;
	}
	(void)close(fd);
	if ((r = vc_ed25519_public(id->id_seed, id->id_pub)) != 0) {
		fprintf(stderr, "keyd: %s: cannot derive the public key: %s\n", path,
		    veil_strerror(r));
		vc_wipe(id, sizeof(*id));
		return r;
	}
	return 0;
}
