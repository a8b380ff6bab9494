/* SPDX-License-Identifier: ISC */
/*
 * Runs every Check suite. The list comes from the file names
 * tests/unit/check_<name>.c, each of which defines Suite *suite_<name>(void).
 * Usage: unit-tests [SUITE] runs all suites, or only the named one.
 *
 * Many tests feed keyd, relayd and chatc code bad input on purpose, and that
 * code says so on stderr ("keyd: permissions 0644 for ... are too open"),
 * which is what a passing test expects. With VEIL_UNIT_STDERR=FILE those
 * lines go to FILE instead of the terminal, and one line says how many there
 * were and where; when a test fails they are shown after all, labelled.
 * Check's own report is on stdout and never redirected. The last line is
 * "unit: N passed, N failed" (make check adds it up with the others).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "unit.h"

#define SUITE(n) Suite *suite_##n(void);
#include "suites.inc"
#undef SUITE

/* Lines in the file at path, each copied to out (labelled) when out is not NULL. */
static size_t
stderr_lines(const char *path, FILE *out)
{
	char line[1024];
	size_t n = 0;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strchr(line, '\n') == NULL && !feof(f))
			continue;	/* the rest of a long line */
		n++;
		if (out != NULL)
			fprintf(out, "unit: stderr of the code under test: %s%s", line,
			    strchr(line, '\n') != NULL ? "" : "\n");
	}
	fclose(f);
	return n;
}

int
main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	const char *errpath = getenv("VEIL_UNIT_STDERR");
	SRunner *sr = srunner_create(NULL);
	int failed, run, fd, saved = -1;
	FILE *err = stderr;
	size_t lines;

	if (errpath != NULL && errpath[0] != '\0') {
		fflush(stderr);
		if ((fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1 ||
		    (saved = dup(STDERR_FILENO)) == -1 || dup2(fd, STDERR_FILENO) == -1) {
			perror(errpath);
			return EXIT_FAILURE;
		}
		close(fd);
		if ((err = fdopen(saved, "w")) == NULL)
			return EXIT_FAILURE;
	}
#define SUITE(n) \
	if (only == NULL || strcmp(only, #n) == 0) \
		srunner_add_suite(sr, suite_##n());
#include "suites.inc"
#undef SUITE
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	run = srunner_ntests_run(sr);
	srunner_free(sr);
	if (saved != -1) {
		fflush(stderr);
		lines = stderr_lines(errpath, failed > 0 ? err : NULL);
		if (lines > 0 && failed == 0)
			printf("unit: %zu line(s) of error output, provoked on purpose by tests "
			    "of error paths, are in %s (shown here only when a test fails)\n",
			    lines, errpath);
		fclose(err);
	}
	printf("unit: %d passed, %d failed\n", run - failed, failed);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
