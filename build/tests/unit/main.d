build/tests/unit/main.o: tests/unit/main.c tests/unit/unit.h \
 build/tests/unit/suites.inc
tests/unit/unit.h:
build/tests/unit/suites.inc:
