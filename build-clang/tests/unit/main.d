build-clang/tests/unit/main.o: tests/unit/main.c tests/unit/unit.h \
  build-clang/tests/unit/suites.inc

tests/unit/unit.h:

build-clang/tests/unit/suites.inc:
