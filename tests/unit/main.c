/* SPDX-License-Identifier: ISC */
/*
 * Runs every Check suite. The list comes from the file names
 * tests/unit/check_<name>.c, each of which defines Suite *suite_<name>(void).
 * Usage: unit-tests [SUITE] runs all suites, or only the named one.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "unit.h"

#define SUITE(n) Suite *suite_##n(void);
#include "suites.inc"
#undef SUITE

int
main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	SRunner *sr = srunner_create(NULL);
	int failed;

#define SUITE(n) \
	if (only == NULL || strcmp(only, #n) == 0) \
		srunner_add_suite(sr, suite_##n());
#include "suites.inc"
#undef SUITE
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
