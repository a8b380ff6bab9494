build-clang/protocol/buf.o: protocol/buf.c protocol/buf.h protocol/err.h

protocol/buf.h:

protocol/err.h:
