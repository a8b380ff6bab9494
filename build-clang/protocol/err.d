build-clang/protocol/err.o: protocol/err.c protocol/err.h

protocol/err.h:
