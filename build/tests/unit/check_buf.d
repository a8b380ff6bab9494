build/tests/unit/check_buf.o: tests/unit/check_buf.c protocol/buf.h \
 protocol/err.h
protocol/buf.h:
protocol/err.h:
